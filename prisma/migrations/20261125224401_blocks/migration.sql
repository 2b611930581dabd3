-- CreateTable
CREATE TABLE "accounts"."blocks" (
    "blocker_aci" UUID NOT NULL,
    "blocked_aci" UUID NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "blocks_pkey" PRIMARY KEY ("blocker_aci","blocked_aci")
);

-- AddForeignKey
ALTER TABLE "accounts"."blocks" ADD CONSTRAINT "blocks_blocker_aci_fkey" FOREIGN KEY ("blocker_aci") REFERENCES "accounts"."accounts"("aci") ON DELETE CASCADE ON UPDATE CASCADE;


