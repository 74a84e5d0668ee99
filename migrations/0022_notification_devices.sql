CREATE TABLE "notification_devices" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"user_id" uuid NOT NULL,
	"session_id" uuid NOT NULL,
	"token" text NOT NULL,
	"platform" text NOT NULL,
	CONSTRAINT "notification_devices_token_uq" UNIQUE("token")
);
--> statement-breakpoint
ALTER TABLE "notification_deliveries" ADD COLUMN "collapse_key" text;--> statement-breakpoint
CREATE INDEX "notification_devices_user_idx" ON "notification_devices" USING btree ("user_id","id");