-- AlterTable
ALTER TABLE "accounts"."devices" ADD COLUMN     "credential_id" UUID NOT NULL DEFAULT gen_random_uuid();
