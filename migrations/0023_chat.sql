CREATE TABLE "chat_message_client_ids" (
	"room_id" uuid NOT NULL,
	"client_message_id" text NOT NULL,
	"id" uuid NOT NULL,
	CONSTRAINT "chat_message_client_ids_room_id_client_message_id_pk" PRIMARY KEY("room_id","client_message_id"),
	CONSTRAINT "chat_message_client_ids_id_unique" UNIQUE("id")
);
--> statement-breakpoint
CREATE TABLE "chat_message_seqs" (
	"room_id" uuid NOT NULL,
	"seq" bigint NOT NULL,
	"id" uuid NOT NULL,
	CONSTRAINT "chat_message_seqs_room_id_seq_pk" PRIMARY KEY("room_id","seq"),
	CONSTRAINT "chat_message_seqs_id_unique" UNIQUE("id")
);
--> statement-breakpoint
CREATE TABLE "chat_messages" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"room_id" uuid NOT NULL,
	"seq" bigint NOT NULL,
	"change_seq" bigint,
	"sender_user_id" uuid,
	"message_type" text NOT NULL,
	"content_encrypted" text,
	"template_key" text,
	"template_params" jsonb,
	"attachments" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"attachment_names_encrypted" text,
	"reply_to_id" uuid,
	"client_message_id" text,
	"contact_flagged" boolean DEFAULT false NOT NULL,
	"edited_at" timestamp with time zone,
	"deleted_at" timestamp with time zone,
	"deleted_by" text,
	"text_expired_at" timestamp with time zone
) PARTITION BY RANGE ("id");
--> statement-breakpoint
CREATE TABLE "chat_participants" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"room_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"role" text NOT NULL,
	"joined_at" timestamp with time zone DEFAULT now() NOT NULL,
	"left_at" timestamp with time zone,
	"muted_until" timestamp with time zone,
	"last_read_seq" bigint DEFAULT 0 NOT NULL,
	"read_change_seq" bigint DEFAULT 0 NOT NULL,
	"last_seen_at" timestamp with time zone,
	"blocked_at" timestamp with time zone,
	"notification_preferences" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"last_sent_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "chat_reports" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"room_id" uuid NOT NULL,
	"message_id" uuid NOT NULL,
	"reporter_user_id" uuid NOT NULL,
	"reported_user_id" uuid,
	"reason" text NOT NULL,
	"description" text,
	"evidence_file_ids" uuid[] DEFAULT '{}'::uuid[] NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"reviewed_by_user_id" uuid,
	"reviewed_at" timestamp with time zone,
	"action" text,
	"resolution_note" text
);
--> statement-breakpoint
CREATE TABLE "chat_restrictions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"user_id" uuid NOT NULL,
	"until" timestamp with time zone NOT NULL,
	"report_id" uuid,
	"created_by_user_id" uuid
);
--> statement-breakpoint
CREATE TABLE "chat_rooms" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"chat_type" text NOT NULL,
	"title" text,
	"order_id" uuid,
	"client_user_id" uuid,
	"provider_user_id" uuid,
	"requester_user_id" uuid,
	"is_active" boolean DEFAULT true NOT NULL,
	"last_seq" bigint DEFAULT 0 NOT NULL,
	"last_change_seq" bigint DEFAULT 0 NOT NULL,
	"last_message_at" timestamp with time zone,
	"closed_at" timestamp with time zone,
	"dispute_id" uuid,
	"slow_mode_seconds" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "chat_templates" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"name" text NOT NULL,
	"category" text NOT NULL,
	"content" jsonb NOT NULL,
	"variables" text[] DEFAULT '{}'::text[] NOT NULL,
	"roles" text[] DEFAULT '{}'::text[] NOT NULL,
	"is_active" boolean DEFAULT true NOT NULL,
	"deleted_at" timestamp with time zone,
	"updated_by" uuid
);
--> statement-breakpoint
ALTER TABLE "chat_messages" ADD CONSTRAINT "chat_messages_room_id_chat_rooms_id_fk" FOREIGN KEY ("room_id") REFERENCES "public"."chat_rooms"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "chat_participants" ADD CONSTRAINT "chat_participants_room_id_chat_rooms_id_fk" FOREIGN KEY ("room_id") REFERENCES "public"."chat_rooms"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "chat_reports" ADD CONSTRAINT "chat_reports_room_id_chat_rooms_id_fk" FOREIGN KEY ("room_id") REFERENCES "public"."chat_rooms"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "chat_restrictions" ADD CONSTRAINT "chat_restrictions_report_id_chat_reports_id_fk" FOREIGN KEY ("report_id") REFERENCES "public"."chat_reports"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "chat_messages_room_seq_idx" ON "chat_messages" USING btree ("room_id","seq");--> statement-breakpoint
CREATE INDEX "chat_messages_room_created_idx" ON "chat_messages" USING btree ("room_id","created_at");--> statement-breakpoint
CREATE INDEX "chat_messages_room_change_idx" ON "chat_messages" USING btree ("room_id","change_seq") WHERE change_seq is not null;--> statement-breakpoint
CREATE INDEX "chat_messages_sender_idx" ON "chat_messages" USING btree ("sender_user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "chat_participants_room_user_uq" ON "chat_participants" USING btree ("room_id","user_id");--> statement-breakpoint
CREATE INDEX "chat_participants_user_idx" ON "chat_participants" USING btree ("user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "chat_reports_message_reporter_uq" ON "chat_reports" USING btree ("message_id","reporter_user_id");--> statement-breakpoint
CREATE INDEX "chat_reports_status_idx" ON "chat_reports" USING btree ("status","id");--> statement-breakpoint
CREATE INDEX "chat_reports_reporter_idx" ON "chat_reports" USING btree ("reporter_user_id");--> statement-breakpoint
CREATE INDEX "chat_reports_reported_idx" ON "chat_reports" USING btree ("reported_user_id");--> statement-breakpoint
CREATE INDEX "chat_restrictions_user_idx" ON "chat_restrictions" USING btree ("user_id","until");--> statement-breakpoint
CREATE UNIQUE INDEX "chat_rooms_order_uq" ON "chat_rooms" USING btree ("order_id") WHERE chat_type = 'order_chat';--> statement-breakpoint
CREATE UNIQUE INDEX "chat_rooms_pair_uq" ON "chat_rooms" USING btree ("client_user_id","provider_user_id") WHERE chat_type = 'general_chat';--> statement-breakpoint
CREATE INDEX "chat_rooms_support_queue_idx" ON "chat_rooms" USING btree ("chat_type","id") WHERE closed_at is null;--> statement-breakpoint
CREATE INDEX "chat_rooms_requester_idx" ON "chat_rooms" USING btree ("requester_user_id");--> statement-breakpoint
CREATE INDEX "chat_rooms_client_idx" ON "chat_rooms" USING btree ("client_user_id");--> statement-breakpoint
CREATE INDEX "chat_rooms_provider_idx" ON "chat_rooms" USING btree ("provider_user_id");--> statement-breakpoint
CREATE INDEX "chat_templates_category_idx" ON "chat_templates" USING btree ("category","id");--> statement-breakpoint
-- Hand-written: (room_id, seq) and (room_id, client_message_id) are unique across the partitions (ARCHITECTURE.md, "Unique keys across partitions").
CREATE TRIGGER "chat_messages_room_seq" AFTER INSERT OR DELETE OR UPDATE OF "room_id", "seq" ON "chat_messages"
  FOR EACH ROW EXECUTE FUNCTION partitioned_unique_key('chat_message_seqs', 'room_id', 'seq');--> statement-breakpoint
CREATE TRIGGER "chat_messages_room_client_message_id" AFTER INSERT OR DELETE OR UPDATE OF "room_id", "client_message_id" ON "chat_messages"
  FOR EACH ROW EXECUTE FUNCTION partitioned_unique_key('chat_message_client_ids', 'room_id', 'client_message_id');
