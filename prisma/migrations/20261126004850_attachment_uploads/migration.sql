-- AlterTable
ALTER TABLE "attachments"."attachments" ADD COLUMN     "completed_at" TIMESTAMP(3),
ADD COLUMN     "upload_expires_at" TIMESTAMP(3) NOT NULL;

-- CreateIndex
CREATE INDEX "attachments_expires_at_idx" ON "attachments"."attachments"("expires_at");

-- CreateIndex
CREATE INDEX "attachments_upload_expires_at_idx" ON "attachments"."attachments"("upload_expires_at");


