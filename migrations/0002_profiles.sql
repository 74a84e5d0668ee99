CREATE TABLE "client_profiles" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"user_profile_id" uuid NOT NULL,
	"preferences" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"orders_total" integer DEFAULT 0 NOT NULL,
	"orders_completed" integer DEFAULT 0 NOT NULL,
	"orders_cancelled" integer DEFAULT 0 NOT NULL,
	"rating_sum" integer DEFAULT 0 NOT NULL,
	"review_count" integer DEFAULT 0 NOT NULL,
	"is_deleted" boolean DEFAULT false NOT NULL,
	"deleted_at" timestamp with time zone,
	"restored_at" timestamp with time zone,
	"deletion_id" uuid
);
--> statement-breakpoint
CREATE TABLE "favorite_providers" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"client_profile_id" uuid NOT NULL,
	"provider_profile_id" uuid NOT NULL
);
--> statement-breakpoint
CREATE TABLE "provider_profiles" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"user_profile_id" uuid NOT NULL,
	"business_name" text NOT NULL,
	"experience_years" integer DEFAULT 0 NOT NULL,
	"description" text,
	"service_area_ids" uuid[] DEFAULT '{}'::uuid[] NOT NULL,
	"travel_radius_km" integer,
	"availability" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"available_weekdays" text[] DEFAULT '{}'::text[] NOT NULL,
	"is_available" boolean DEFAULT true NOT NULL,
	"is_verified" boolean DEFAULT false NOT NULL,
	"rating_sum" integer DEFAULT 0 NOT NULL,
	"review_count" integer DEFAULT 0 NOT NULL,
	"rating_avg_x100" integer DEFAULT 0 NOT NULL,
	"orders_completed" integer DEFAULT 0 NOT NULL,
	"search_text" text DEFAULT '' NOT NULL,
	"is_deleted" boolean DEFAULT false NOT NULL,
	"deleted_at" timestamp with time zone,
	"restored_at" timestamp with time zone,
	"deletion_id" uuid
);
--> statement-breakpoint
CREATE TABLE "provider_services" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"provider_profile_id" uuid NOT NULL,
	"subcategory_id" uuid NOT NULL,
	"description" text,
	"base_price" integer NOT NULL,
	"currency" text DEFAULT 'KGS' NOT NULL,
	"price_type" text DEFAULT 'fixed' NOT NULL,
	"availability" jsonb,
	"is_active" boolean DEFAULT true NOT NULL,
	"is_deleted" boolean DEFAULT false NOT NULL,
	"deleted_at" timestamp with time zone,
	"restored_at" timestamp with time zone,
	"deletion_id" uuid
);
--> statement-breakpoint
CREATE TABLE "user_profiles" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"user_id" uuid NOT NULL,
	"user_type" text,
	"bio" text,
	"gender" text,
	"photo_file_id" uuid,
	"preferred_language" text,
	"notification_language" text,
	"contact_info_encrypted" text,
	"address_encrypted" text,
	"service_area_id" uuid,
	"preferences" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"verification_status" text DEFAULT 'unverified' NOT NULL,
	"is_deleted" boolean DEFAULT false NOT NULL,
	"deleted_at" timestamp with time zone,
	"restored_at" timestamp with time zone,
	"deletion_id" uuid
);
--> statement-breakpoint
CREATE TABLE "user_verifications" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"user_profile_id" uuid NOT NULL,
	"verification_type" text NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"evidence_file_ids" uuid[] DEFAULT '{}'::uuid[] NOT NULL,
	"user_note" text,
	"public_note" text,
	"admin_notes" text,
	"reviewed_by" uuid,
	"reviewed_at" timestamp with time zone,
	"is_deleted" boolean DEFAULT false NOT NULL,
	"deleted_at" timestamp with time zone,
	"restored_at" timestamp with time zone,
	"deletion_id" uuid
);
--> statement-breakpoint
CREATE TABLE "files" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"owner_id" uuid NOT NULL,
	"purpose" text NOT NULL,
	"storage_key" text NOT NULL,
	"content_type" text NOT NULL,
	"size_bytes" bigint NOT NULL,
	"sha256" text NOT NULL,
	"original_name" text,
	CONSTRAINT "files_storage_key_unique" UNIQUE("storage_key")
);
--> statement-breakpoint
ALTER TABLE "client_profiles" ADD CONSTRAINT "client_profiles_user_profile_id_user_profiles_id_fk" FOREIGN KEY ("user_profile_id") REFERENCES "public"."user_profiles"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "favorite_providers" ADD CONSTRAINT "favorite_providers_client_profile_id_client_profiles_id_fk" FOREIGN KEY ("client_profile_id") REFERENCES "public"."client_profiles"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "favorite_providers" ADD CONSTRAINT "favorite_providers_provider_profile_id_provider_profiles_id_fk" FOREIGN KEY ("provider_profile_id") REFERENCES "public"."provider_profiles"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "provider_profiles" ADD CONSTRAINT "provider_profiles_user_profile_id_user_profiles_id_fk" FOREIGN KEY ("user_profile_id") REFERENCES "public"."user_profiles"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "provider_services" ADD CONSTRAINT "provider_services_provider_profile_id_provider_profiles_id_fk" FOREIGN KEY ("provider_profile_id") REFERENCES "public"."provider_profiles"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_profiles" ADD CONSTRAINT "user_profiles_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_verifications" ADD CONSTRAINT "user_verifications_user_profile_id_user_profiles_id_fk" FOREIGN KEY ("user_profile_id") REFERENCES "public"."user_profiles"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "client_profiles_profile_live_uq" ON "client_profiles" USING btree ("user_profile_id") WHERE not is_deleted;--> statement-breakpoint
CREATE INDEX "client_profiles_is_deleted_idx" ON "client_profiles" USING btree ("is_deleted");--> statement-breakpoint
CREATE INDEX "client_profiles_deletion_id_idx" ON "client_profiles" USING btree ("deletion_id") WHERE deletion_id is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "favorite_providers_pair_uq" ON "favorite_providers" USING btree ("client_profile_id","provider_profile_id");--> statement-breakpoint
CREATE UNIQUE INDEX "provider_profiles_profile_live_uq" ON "provider_profiles" USING btree ("user_profile_id") WHERE not is_deleted;--> statement-breakpoint
CREATE INDEX "provider_profiles_areas_gin" ON "provider_profiles" USING gin ("service_area_ids");--> statement-breakpoint
CREATE INDEX "provider_profiles_search_trgm" ON "provider_profiles" USING gin ("search_text" gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "provider_profiles_search_fts" ON "provider_profiles" USING gin (to_tsvector('simple', "search_text"));--> statement-breakpoint
CREATE INDEX "provider_profiles_rating_idx" ON "provider_profiles" USING btree ("rating_avg_x100","id") WHERE not is_deleted;--> statement-breakpoint
CREATE INDEX "provider_profiles_is_deleted_idx" ON "provider_profiles" USING btree ("is_deleted");--> statement-breakpoint
CREATE INDEX "provider_profiles_deletion_id_idx" ON "provider_profiles" USING btree ("deletion_id") WHERE deletion_id is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "provider_services_subcategory_live_uq" ON "provider_services" USING btree ("provider_profile_id","subcategory_id") WHERE not is_deleted;--> statement-breakpoint
CREATE INDEX "provider_services_subcategory_idx" ON "provider_services" USING btree ("subcategory_id","base_price") WHERE not is_deleted;--> statement-breakpoint
CREATE INDEX "provider_services_is_deleted_idx" ON "provider_services" USING btree ("is_deleted");--> statement-breakpoint
CREATE INDEX "provider_services_deletion_id_idx" ON "provider_services" USING btree ("deletion_id") WHERE deletion_id is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "user_profiles_user_live_uq" ON "user_profiles" USING btree ("user_id") WHERE not is_deleted;--> statement-breakpoint
CREATE INDEX "user_profiles_is_deleted_idx" ON "user_profiles" USING btree ("is_deleted");--> statement-breakpoint
CREATE INDEX "user_profiles_deletion_id_idx" ON "user_profiles" USING btree ("deletion_id") WHERE deletion_id is not null;--> statement-breakpoint
CREATE INDEX "user_verifications_profile_idx" ON "user_verifications" USING btree ("user_profile_id","id");--> statement-breakpoint
CREATE INDEX "user_verifications_status_idx" ON "user_verifications" USING btree ("status","id") WHERE not is_deleted;--> statement-breakpoint
CREATE UNIQUE INDEX "user_verifications_pending_uq" ON "user_verifications" USING btree ("user_profile_id","verification_type") WHERE status = 'pending' and not is_deleted;--> statement-breakpoint
CREATE INDEX "user_verifications_is_deleted_idx" ON "user_verifications" USING btree ("is_deleted");--> statement-breakpoint
CREATE INDEX "user_verifications_deletion_id_idx" ON "user_verifications" USING btree ("deletion_id") WHERE deletion_id is not null;--> statement-breakpoint
CREATE INDEX "files_owner_idx" ON "files" USING btree ("owner_id","purpose");