CREATE TABLE "notification_deliveries" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"notification_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"event_id" uuid NOT NULL,
	"notification_type" text NOT NULL,
	"channel" text NOT NULL,
	"priority" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"subject" text NOT NULL,
	"body" text NOT NULL,
	"link" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone,
	"locked_until" timestamp with time zone,
	"last_attempt_at" timestamp with time zone,
	"sent_at" timestamp with time zone,
	"delivered_at" timestamp with time zone,
	"failed_at" timestamp with time zone,
	"provider_message_id" text,
	"external_response" jsonb
) PARTITION BY RANGE ("id");
--> statement-breakpoint
CREATE TABLE "notification_delivery_keys" (
	"event_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"channel" text NOT NULL,
	"id" uuid NOT NULL,
	CONSTRAINT "notification_delivery_keys_event_id_user_id_channel_pk" PRIMARY KEY("event_id","user_id","channel"),
	CONSTRAINT "notification_delivery_keys_id_unique" UNIQUE("id")
);
--> statement-breakpoint
CREATE TABLE "notification_logs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"notification_id" uuid NOT NULL,
	"delivery_id" uuid,
	"user_id" uuid NOT NULL,
	"action" text NOT NULL,
	"channel" text,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"performance_metrics" jsonb DEFAULT '{}'::jsonb NOT NULL
) PARTITION BY RANGE ("id");
--> statement-breakpoint
CREATE TABLE "notification_preferences" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"user_id" uuid NOT NULL,
	"channel_preferences" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"type_preferences" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"timing_preferences" jsonb DEFAULT '{}'::jsonb NOT NULL,
	CONSTRAINT "notification_preferences_user_uq" UNIQUE("user_id")
);
--> statement-breakpoint
CREATE TABLE "notification_templates" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"name" text NOT NULL,
	"notification_type" text NOT NULL,
	"channel" text NOT NULL,
	"language" text NOT NULL,
	"subject" text NOT NULL,
	"content" text NOT NULL,
	"updated_by" uuid
);
--> statement-breakpoint
CREATE TABLE "user_notification_keys" (
	"event_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	CONSTRAINT "user_notification_keys_event_id_user_id_pk" PRIMARY KEY("event_id","user_id"),
	CONSTRAINT "user_notification_keys_id_unique" UNIQUE("id")
);
--> statement-breakpoint
CREATE TABLE "user_notifications" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"user_id" uuid NOT NULL,
	"template_id" uuid,
	"event_id" uuid NOT NULL,
	"event_type" text NOT NULL,
	"notification_type" text NOT NULL,
	"priority" text NOT NULL,
	"channels" text[] NOT NULL,
	"subject" text NOT NULL,
	"message" text NOT NULL,
	"link" text,
	"context_data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"status" text DEFAULT 'unread' NOT NULL,
	"seen_at" timestamp with time zone,
	"read_at" timestamp with time zone,
	"archived_at" timestamp with time zone
) PARTITION BY RANGE ("id");
--> statement-breakpoint
ALTER TABLE "user_notifications" ADD CONSTRAINT "user_notifications_template_id_notification_templates_id_fk" FOREIGN KEY ("template_id") REFERENCES "public"."notification_templates"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "notification_deliveries_notification_idx" ON "notification_deliveries" USING btree ("notification_id");--> statement-breakpoint
CREATE INDEX "notification_deliveries_user_idx" ON "notification_deliveries" USING btree ("user_id","id");--> statement-breakpoint
CREATE INDEX "notification_deliveries_pending_idx" ON "notification_deliveries" USING btree ("next_attempt_at") WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX "notification_logs_notification_idx" ON "notification_logs" USING btree ("notification_id","id");--> statement-breakpoint
CREATE INDEX "notification_logs_delivery_idx" ON "notification_logs" USING btree ("delivery_id");--> statement-breakpoint
CREATE INDEX "notification_logs_user_idx" ON "notification_logs" USING btree ("user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "notification_templates_type_channel_language_uq" ON "notification_templates" USING btree ("notification_type","channel","language");--> statement-breakpoint
CREATE INDEX "user_notifications_user_idx" ON "user_notifications" USING btree ("user_id","id");--> statement-breakpoint
CREATE INDEX "user_notifications_user_status_idx" ON "user_notifications" USING btree ("user_id","status","id");--> statement-breakpoint
CREATE VIEW "public"."notification_queue" AS (select id, notification_id, user_id, channel, priority, status, next_attempt_at as scheduled_at,
    attempts as retry_count from notification_deliveries where status = 'pending');--> statement-breakpoint
-- Hand-written: the dedup keys are unique across the partitions (ARCHITECTURE.md, "Unique keys across partitions").
CREATE TRIGGER "user_notifications_event_user" AFTER INSERT OR DELETE OR UPDATE OF "event_id", "user_id" ON "user_notifications"
  FOR EACH ROW EXECUTE FUNCTION partitioned_unique_key('user_notification_keys', 'event_id', 'user_id');--> statement-breakpoint
CREATE TRIGGER "notification_deliveries_event_user_channel" AFTER INSERT OR DELETE OR UPDATE OF "event_id", "user_id", "channel" ON "notification_deliveries"
  FOR EACH ROW EXECUTE FUNCTION partitioned_unique_key('notification_delivery_keys', 'event_id', 'user_id', 'channel');
