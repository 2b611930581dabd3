-- AlterTable
ALTER TABLE "groups"."groups" ADD COLUMN     "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;

-- CreateTable
CREATE TABLE "groups"."group_changes" (
    "group_id" BYTEA NOT NULL,
    "version" INTEGER NOT NULL,
    "change" BYTEA NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "group_changes_pkey" PRIMARY KEY ("group_id","version")
);

-- AddForeignKey
ALTER TABLE "groups"."group_changes" ADD CONSTRAINT "group_changes_group_id_fkey" FOREIGN KEY ("group_id") REFERENCES "groups"."groups"("id") ON DELETE CASCADE ON UPDATE CASCADE;


