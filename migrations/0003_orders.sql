CREATE TABLE "bids" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"order_id" uuid NOT NULL,
	"provider_profile_id" uuid NOT NULL,
	"provider_user_id" uuid NOT NULL,
	"amount" integer NOT NULL,
	"currency" text DEFAULT 'KGS' NOT NULL,
	"message" text,
	"estimated_duration_hours" integer,
	"is_negotiable" boolean DEFAULT false NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"decided_at" timestamp with time zone,
	"reject_reason" text,
	"is_deleted" boolean DEFAULT false NOT NULL,
	"deleted_at" timestamp with time zone,
	"restored_at" timestamp with time zone,
	"deletion_id" uuid
);
--> statement-breakpoint
CREATE TABLE "order_addons" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"order_id" uuid NOT NULL,
	"addon_id" uuid NOT NULL,
	"quantity" integer DEFAULT 1 NOT NULL,
	"unit_price" integer NOT NULL,
	"price_type" text NOT NULL,
	"is_deleted" boolean DEFAULT false NOT NULL,
	"deleted_at" timestamp with time zone,
	"restored_at" timestamp with time zone,
	"deletion_id" uuid
);
--> statement-breakpoint
CREATE TABLE "order_assignments" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"order_id" uuid NOT NULL,
	"bid_id" uuid NOT NULL,
	"provider_profile_id" uuid NOT NULL,
	"provider_user_id" uuid NOT NULL,
	"client_user_id" uuid NOT NULL,
	"start_date" text,
	"progress_notes" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"completion_notes" text,
	"completion_photo_file_ids" uuid[] DEFAULT '{}'::uuid[] NOT NULL,
	"client_rating" integer
);
--> statement-breakpoint
CREATE TABLE "order_disputes" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"order_id" uuid NOT NULL,
	"opened_by_user_id" uuid NOT NULL,
	"dispute_type" text NOT NULL,
	"description" text NOT NULL,
	"evidence_file_ids" uuid[] DEFAULT '{}'::uuid[] NOT NULL,
	"status" text DEFAULT 'open' NOT NULL,
	"order_status_before" text NOT NULL,
	"resolution" text,
	"outcome" text,
	"refund" boolean,
	"handled_by" uuid,
	"resolved_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "order_photos" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"order_id" uuid NOT NULL,
	"file_id" uuid NOT NULL,
	"caption" text,
	"is_primary" boolean DEFAULT false NOT NULL,
	"sort_order" integer DEFAULT 0 NOT NULL,
	"is_deleted" boolean DEFAULT false NOT NULL,
	"deleted_at" timestamp with time zone,
	"restored_at" timestamp with time zone,
	"deletion_id" uuid
);
--> statement-breakpoint
CREATE TABLE "order_reviews" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"order_id" uuid NOT NULL,
	"direction" text NOT NULL,
	"author_user_id" uuid NOT NULL,
	"subject_user_id" uuid NOT NULL,
	"rating" integer NOT NULL,
	"comment" text,
	"is_deleted" boolean DEFAULT false NOT NULL,
	"deleted_at" timestamp with time zone,
	"restored_at" timestamp with time zone,
	"deletion_id" uuid,
	CONSTRAINT "order_reviews_rating_ck" CHECK (rating between 1 and 5)
);
--> statement-breakpoint
CREATE TABLE "order_searches" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"user_id" uuid,
	"query" text,
	"filters" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"result_count" integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE "order_status_history" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"order_id" uuid NOT NULL,
	"from_status" text,
	"to_status" text NOT NULL,
	"actor_id" uuid,
	"reason" text
);
--> statement-breakpoint
CREATE TABLE "orders" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"client_profile_id" uuid NOT NULL,
	"client_user_id" uuid NOT NULL,
	"subcategory_id" uuid NOT NULL,
	"category_id" uuid NOT NULL,
	"title" text NOT NULL,
	"description" text NOT NULL,
	"service_area_id" uuid NOT NULL,
	"address_encrypted" text,
	"location_encrypted" text,
	"service_date" text,
	"time_from" text,
	"time_to" text,
	"urgency" text DEFAULT 'medium' NOT NULL,
	"budget_min" integer,
	"budget_max" integer,
	"currency" text DEFAULT 'KGS' NOT NULL,
	"status" text DEFAULT 'draft' NOT NULL,
	"final_price" integer,
	"bid_count" integer DEFAULT 0 NOT NULL,
	"published_at" timestamp with time zone,
	"assigned_at" timestamp with time zone,
	"started_at" timestamp with time zone,
	"work_done_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	"cancelled_at" timestamp with time zone,
	"cancel_reason" text,
	"is_deleted" boolean DEFAULT false NOT NULL,
	"deleted_at" timestamp with time zone,
	"restored_at" timestamp with time zone,
	"deletion_id" uuid,
	CONSTRAINT "orders_budget_ck" CHECK (budget_min is null or budget_max is null or budget_min <= budget_max)
);
--> statement-breakpoint
ALTER TABLE "bids" ADD CONSTRAINT "bids_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "order_addons" ADD CONSTRAINT "order_addons_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "order_assignments" ADD CONSTRAINT "order_assignments_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "order_assignments" ADD CONSTRAINT "order_assignments_bid_id_bids_id_fk" FOREIGN KEY ("bid_id") REFERENCES "public"."bids"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "order_disputes" ADD CONSTRAINT "order_disputes_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "order_photos" ADD CONSTRAINT "order_photos_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "order_reviews" ADD CONSTRAINT "order_reviews_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "order_status_history" ADD CONSTRAINT "order_status_history_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "bids_order_status_idx" ON "bids" USING btree ("order_id","status");--> statement-breakpoint
CREATE INDEX "bids_provider_idx" ON "bids" USING btree ("provider_user_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "bids_one_live_per_provider_uq" ON "bids" USING btree ("order_id","provider_profile_id") WHERE status in ('pending', 'accepted') and not is_deleted;--> statement-breakpoint
CREATE UNIQUE INDEX "bids_one_accepted_per_order_uq" ON "bids" USING btree ("order_id") WHERE status = 'accepted' and not is_deleted;--> statement-breakpoint
CREATE INDEX "bids_is_deleted_idx" ON "bids" USING btree ("is_deleted");--> statement-breakpoint
CREATE INDEX "bids_deletion_id_idx" ON "bids" USING btree ("deletion_id") WHERE deletion_id is not null;--> statement-breakpoint
CREATE INDEX "order_addons_order_idx" ON "order_addons" USING btree ("order_id");--> statement-breakpoint
CREATE UNIQUE INDEX "order_addons_order_addon_live_uq" ON "order_addons" USING btree ("order_id","addon_id") WHERE not is_deleted;--> statement-breakpoint
CREATE INDEX "order_addons_is_deleted_idx" ON "order_addons" USING btree ("is_deleted");--> statement-breakpoint
CREATE INDEX "order_addons_deletion_id_idx" ON "order_addons" USING btree ("deletion_id") WHERE deletion_id is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "order_assignments_order_uq" ON "order_assignments" USING btree ("order_id");--> statement-breakpoint
CREATE UNIQUE INDEX "order_assignments_bid_uq" ON "order_assignments" USING btree ("bid_id");--> statement-breakpoint
CREATE INDEX "order_assignments_provider_idx" ON "order_assignments" USING btree ("provider_user_id","id");--> statement-breakpoint
CREATE INDEX "order_disputes_order_idx" ON "order_disputes" USING btree ("order_id");--> statement-breakpoint
CREATE INDEX "order_disputes_status_idx" ON "order_disputes" USING btree ("status","id");--> statement-breakpoint
CREATE UNIQUE INDEX "order_disputes_one_open_uq" ON "order_disputes" USING btree ("order_id") WHERE status in ('open', 'under_review');--> statement-breakpoint
CREATE INDEX "order_photos_order_idx" ON "order_photos" USING btree ("order_id");--> statement-breakpoint
CREATE UNIQUE INDEX "order_photos_primary_live_uq" ON "order_photos" USING btree ("order_id") WHERE is_primary and not is_deleted;--> statement-breakpoint
CREATE INDEX "order_photos_is_deleted_idx" ON "order_photos" USING btree ("is_deleted");--> statement-breakpoint
CREATE INDEX "order_photos_deletion_id_idx" ON "order_photos" USING btree ("deletion_id") WHERE deletion_id is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "order_reviews_once_uq" ON "order_reviews" USING btree ("order_id","direction") WHERE not is_deleted;--> statement-breakpoint
CREATE INDEX "order_reviews_subject_idx" ON "order_reviews" USING btree ("subject_user_id","id");--> statement-breakpoint
CREATE INDEX "order_reviews_is_deleted_idx" ON "order_reviews" USING btree ("is_deleted");--> statement-breakpoint
CREATE INDEX "order_reviews_deletion_id_idx" ON "order_reviews" USING btree ("deletion_id") WHERE deletion_id is not null;--> statement-breakpoint
CREATE INDEX "order_searches_created_idx" ON "order_searches" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "order_status_history_order_idx" ON "order_status_history" USING btree ("order_id","id");--> statement-breakpoint
CREATE INDEX "orders_status_created_idx" ON "orders" USING btree ("status","created_at");--> statement-breakpoint
CREATE INDEX "orders_client_status_idx" ON "orders" USING btree ("client_user_id","status","id");--> statement-breakpoint
CREATE INDEX "orders_feed_idx" ON "orders" USING btree ("subcategory_id","status","id") WHERE not is_deleted;--> statement-breakpoint
CREATE INDEX "orders_area_idx" ON "orders" USING btree ("service_area_id","status") WHERE not is_deleted;--> statement-breakpoint
CREATE INDEX "orders_search_fts" ON "orders" USING gin (to_tsvector('simple', "title" || ' ' || "description"));--> statement-breakpoint
CREATE INDEX "orders_search_trgm" ON "orders" USING gin ((lower("title" || ' ' || "description")) gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "orders_is_deleted_idx" ON "orders" USING btree ("is_deleted");--> statement-breakpoint
CREATE INDEX "orders_deletion_id_idx" ON "orders" USING btree ("deletion_id") WHERE deletion_id is not null;