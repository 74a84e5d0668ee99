CREATE TABLE "event_deliveries" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"subscriber" text NOT NULL,
	"event_id" uuid NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "event_deliveries_subscriber_event_uq" ON "event_deliveries" USING btree ("subscriber","event_id");