-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "accounts";

-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "attachments";

-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "groups";

-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "keys";

-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "messages";

-- CreateEnum
CREATE TYPE "keys"."identity_type" AS ENUM ('ACI', 'PNI');

-- CreateTable
CREATE TABLE "accounts"."accounts" (
    "aci" UUID NOT NULL,
    "pni" UUID NOT NULL,
    "number" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "accounts_pkey" PRIMARY KEY ("aci")
);

-- CreateTable
CREATE TABLE "attachments"."attachments" (
    "key" TEXT NOT NULL,
    "upload_length" BIGINT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "attachments_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "groups"."groups" (
    "id" BYTEA NOT NULL,
    "version" INTEGER NOT NULL,
    "state" BYTEA NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "groups_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "keys"."identity_keys" (
    "aci" UUID NOT NULL,
    "identity" "keys"."identity_type" NOT NULL,
    "public_key" BYTEA NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "identity_keys_pkey" PRIMARY KEY ("aci","identity")
);

-- CreateTable
CREATE TABLE "messages"."queued_envelopes" (
    "guid" UUID NOT NULL,
    "destination_aci" UUID NOT NULL,
    "destination_device_id" INTEGER NOT NULL,
    "server_timestamp" BIGINT NOT NULL,
    "envelope" BYTEA NOT NULL,
    "expires_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "queued_envelopes_pkey" PRIMARY KEY ("guid")
);

-- CreateIndex
CREATE UNIQUE INDEX "accounts_pni_key" ON "accounts"."accounts"("pni");

-- CreateIndex
CREATE UNIQUE INDEX "accounts_number_key" ON "accounts"."accounts"("number");

-- CreateIndex
CREATE INDEX "queued_envelopes_destination_aci_destination_device_id_serv_idx" ON "messages"."queued_envelopes"("destination_aci", "destination_device_id", "server_timestamp");
