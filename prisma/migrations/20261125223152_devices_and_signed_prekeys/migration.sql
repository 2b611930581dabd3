-- AlterTable
ALTER TABLE "accounts"."accounts" ADD COLUMN     "unidentified_access_key" BYTEA,
ADD COLUMN     "unrestricted_unidentified_access" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "accounts"."devices" (
    "aci" UUID NOT NULL,
    "device_id" INTEGER NOT NULL,
    "password_hash" BYTEA NOT NULL,
    "password_salt" BYTEA NOT NULL,
    "registration_id" INTEGER NOT NULL,
    "pni_registration_id" INTEGER NOT NULL,
    "encrypted_name" BYTEA,
    "capabilities" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "credential_version" INTEGER NOT NULL DEFAULT 1,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "devices_pkey" PRIMARY KEY ("aci","device_id")
);

-- CreateTable
CREATE TABLE "keys"."signed_ec_prekeys" (
    "aci" UUID NOT NULL,
    "identity" "keys"."identity_type" NOT NULL,
    "device_id" INTEGER NOT NULL,
    "key_id" INTEGER NOT NULL,
    "public_key" BYTEA NOT NULL,
    "signature" BYTEA NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "signed_ec_prekeys_pkey" PRIMARY KEY ("aci","identity","device_id")
);

-- CreateTable
CREATE TABLE "keys"."kyber_prekeys" (
    "aci" UUID NOT NULL,
    "identity" "keys"."identity_type" NOT NULL,
    "device_id" INTEGER NOT NULL,
    "key_id" INTEGER NOT NULL,
    "public_key" BYTEA NOT NULL,
    "signature" BYTEA NOT NULL,
    "last_resort" BOOLEAN NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "kyber_prekeys_pkey" PRIMARY KEY ("aci","identity","device_id","key_id")
);

-- CreateIndex
CREATE INDEX "kyber_prekeys_aci_identity_device_id_last_resort_idx" ON "keys"."kyber_prekeys"("aci", "identity", "device_id", "last_resort");

-- AddForeignKey
ALTER TABLE "accounts"."devices" ADD CONSTRAINT "devices_aci_fkey" FOREIGN KEY ("aci") REFERENCES "accounts"."accounts"("aci") ON DELETE CASCADE ON UPDATE CASCADE;
