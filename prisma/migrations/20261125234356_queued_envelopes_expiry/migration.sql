-- CreateIndex
CREATE INDEX "queued_envelopes_expires_at_idx" ON "messages"."queued_envelopes"("expires_at");


