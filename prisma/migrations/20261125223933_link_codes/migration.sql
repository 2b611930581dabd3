-- CreateTable
CREATE TABLE "accounts"."used_link_codes" (
    "code_hash" BYTEA NOT NULL,
    "aci" UUID NOT NULL,
    "device_id" INTEGER NOT NULL,
    "used_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "used_link_codes_pkey" PRIMARY KEY ("code_hash")
);

-- CreateIndex
CREATE INDEX "used_link_codes_expires_at_idx" ON "accounts"."used_link_codes"("expires_at");
