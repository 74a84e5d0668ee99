CREATE TABLE "file_attachments" (
	"id" uuid PRIMARY KEY NOT NULL,
	"file_id" uuid NOT NULL,
	"entity" text NOT NULL,
	"entity_id" uuid NOT NULL,
	"field" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "files" ALTER COLUMN "owner_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "files" ADD COLUMN "attached_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "file_attachments" ADD CONSTRAINT "file_attachments_file_id_files_id_fk" FOREIGN KEY ("file_id") REFERENCES "public"."files"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "file_attachments_ref_uq" ON "file_attachments" USING btree ("entity","entity_id","field","file_id");--> statement-breakpoint
CREATE INDEX "file_attachments_file_idx" ON "file_attachments" USING btree ("file_id");--> statement-breakpoint
CREATE INDEX "files_unattached_idx" ON "files" USING btree ("created_at") WHERE attached_at is null and owner_id is not null;--> statement-breakpoint
-- Hand-written: the references the modules' rows already hold, as their `files.attach` calls record them
-- from now on (ARCHITECTURE.md, "Files"), so that the sweep of unattached uploads takes none of them.
-- Ids are UUIDv7 of the moment, as newId() makes them.
INSERT INTO "file_attachments" ("id", "file_id", "entity", "entity_id", "field")
SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
    PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
    FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid, r.file_id, r.entity, r.entity_id, r.field
FROM (
  SELECT DISTINCT "photo_file_id" AS file_id, 'user_profiles' AS entity, "id" AS entity_id, 'photo_file_id' AS field
    FROM "user_profiles" WHERE "photo_file_id" IS NOT NULL
  UNION
  SELECT unnest("evidence_file_ids"), 'user_verifications', "id", 'evidence_file_ids' FROM "user_verifications"
  UNION
  -- An order's photos: its live ones, and, of a deleted order, those its deletion took (a restore brings them back).
  SELECT p."file_id", 'orders', p."order_id", 'photo_file_ids'
    FROM "order_photos" p JOIN "orders" o ON o."id" = p."order_id"
    WHERE NOT p."is_deleted" OR (o."is_deleted" AND p."deletion_id" = o."deletion_id")
  UNION
  SELECT unnest("completion_photo_file_ids"), 'order_assignments', "id", 'completion_photo_file_ids'
    FROM "order_assignments"
  UNION
  SELECT unnest("evidence_file_ids"), 'order_disputes', "id", 'evidence_file_ids' FROM "order_disputes"
) r
WHERE EXISTS (SELECT 1 FROM "files" f WHERE f."id" = r.file_id)
ON CONFLICT DO NOTHING;
--> statement-breakpoint
UPDATE "files" SET "attached_at" = now()
  WHERE EXISTS (SELECT 1 FROM "file_attachments" a WHERE a."file_id" = "files"."id");
--> statement-breakpoint
-- Hand-written: the trail of uploads kept the client's file name and the key to the bytes; it records neither now.
UPDATE "audit_log" SET "changes" = "changes" - 'original_name' - 'storage_key'
  WHERE "entity" = 'files' AND ("changes" ? 'original_name' OR "changes" ? 'storage_key');
