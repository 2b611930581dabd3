-- CreateTable
CREATE TABLE "accounts"."verification_sessions" (
    "id_hash" BYTEA NOT NULL,
    "number" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMP(3) NOT NULL,
    "code_hash" BYTEA,
    "code_expires_at" TIMESTAMP(3),
    "last_code_at" TIMESTAMP(3),
    "codes_sent" INTEGER NOT NULL DEFAULT 0,
    "failed_attempts" INTEGER NOT NULL DEFAULT 0,
    "verified_at" TIMESTAMP(3),
    "consumed_at" TIMESTAMP(3),

    CONSTRAINT "verification_sessions_pkey" PRIMARY KEY ("id_hash")
);

-- CreateIndex
CREATE INDEX "verification_sessions_expires_at_idx" ON "accounts"."verification_sessions"("expires_at");
