-- CreateTable
CREATE TABLE "accounts"."profiles" (
    "aci" UUID NOT NULL,
    "version" VARCHAR(64) NOT NULL,
    "commitment" BYTEA NOT NULL,
    "name" BYTEA NOT NULL,
    "about" BYTEA,
    "about_emoji" BYTEA,
    "payment_address" BYTEA,
    "avatar" TEXT,
    "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "profiles_pkey" PRIMARY KEY ("aci","version")
);

-- AddForeignKey
ALTER TABLE "accounts"."profiles" ADD CONSTRAINT "profiles_aci_fkey" FOREIGN KEY ("aci") REFERENCES "accounts"."accounts"("aci") ON DELETE CASCADE ON UPDATE CASCADE;
