-- Envelopes queued before this column existed read as wanting a receipt: their acknowledgement
-- returns the envelope and ReceiptService decides from its fields, as it did for every envelope
-- before. New rows always carry the outbox's answer, so the default is false from here on.
-- AlterTable
ALTER TABLE "messages"."queued_envelopes" ADD COLUMN     "wants_receipt" BOOLEAN NOT NULL DEFAULT true;
ALTER TABLE "messages"."queued_envelopes" ALTER COLUMN "wants_receipt" SET DEFAULT false;
