-- CreateTable
CREATE TABLE "keys"."one_time_ec_prekeys" (
    "aci" UUID NOT NULL,
    "identity" "keys"."identity_type" NOT NULL,
    "device_id" INTEGER NOT NULL,
    "key_id" INTEGER NOT NULL,
    "public_key" BYTEA NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "one_time_ec_prekeys_pkey" PRIMARY KEY ("aci","identity","device_id","key_id")
);


