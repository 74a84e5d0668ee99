CREATE TABLE "app_versions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"platform" text NOT NULL,
	"version" text NOT NULL,
	"build_number" integer NOT NULL,
	"release_notes" jsonb,
	"is_forced_update" boolean DEFAULT false NOT NULL,
	"store_url" text,
	"is_active" boolean DEFAULT true NOT NULL,
	"is_deleted" boolean DEFAULT false NOT NULL,
	"deleted_at" timestamp with time zone,
	"restored_at" timestamp with time zone,
	"deletion_id" uuid
);
--> statement-breakpoint
CREATE TABLE "languages" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"code" text NOT NULL,
	"name" text NOT NULL,
	"native_name" text NOT NULL,
	"is_active" boolean DEFAULT true NOT NULL,
	"is_default" boolean DEFAULT false NOT NULL,
	"sort_order" integer DEFAULT 0 NOT NULL,
	"is_deleted" boolean DEFAULT false NOT NULL,
	"deleted_at" timestamp with time zone,
	"restored_at" timestamp with time zone,
	"deletion_id" uuid
);
--> statement-breakpoint
CREATE TABLE "service_addons" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"subcategory_id" uuid NOT NULL,
	"name" jsonb NOT NULL,
	"description" jsonb,
	"price" integer NOT NULL,
	"price_type" text DEFAULT 'fixed' NOT NULL,
	"is_active" boolean DEFAULT true NOT NULL,
	"sort_order" integer DEFAULT 0 NOT NULL,
	"is_deleted" boolean DEFAULT false NOT NULL,
	"deleted_at" timestamp with time zone,
	"restored_at" timestamp with time zone,
	"deletion_id" uuid,
	CONSTRAINT "service_addons_price_ck" CHECK (price >= 0)
);
--> statement-breakpoint
CREATE TABLE "service_areas" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"slug" text NOT NULL,
	"name" jsonb NOT NULL,
	"parent_id" uuid,
	"sort_order" integer DEFAULT 0 NOT NULL,
	"is_active" boolean DEFAULT true NOT NULL,
	"is_deleted" boolean DEFAULT false NOT NULL,
	"deleted_at" timestamp with time zone,
	"restored_at" timestamp with time zone,
	"deletion_id" uuid
);
--> statement-breakpoint
CREATE TABLE "service_categories" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"slug" text NOT NULL,
	"name" jsonb NOT NULL,
	"description" jsonb,
	"icon" text,
	"color" text,
	"sort_order" integer DEFAULT 0 NOT NULL,
	"is_active" boolean DEFAULT true NOT NULL,
	"commission_rate_bps" integer,
	"min_price" integer,
	"max_price" integer,
	"is_deleted" boolean DEFAULT false NOT NULL,
	"deleted_at" timestamp with time zone,
	"restored_at" timestamp with time zone,
	"deletion_id" uuid,
	CONSTRAINT "service_categories_commission_ck" CHECK (commission_rate_bps between 0 and 10000),
	CONSTRAINT "service_categories_price_range_ck" CHECK (min_price is null or max_price is null or min_price <= max_price)
);
--> statement-breakpoint
CREATE TABLE "service_subcategories" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"category_id" uuid NOT NULL,
	"slug" text NOT NULL,
	"name" jsonb NOT NULL,
	"description" jsonb,
	"icon" text,
	"sort_order" integer DEFAULT 0 NOT NULL,
	"is_active" boolean DEFAULT true NOT NULL,
	"is_deleted" boolean DEFAULT false NOT NULL,
	"deleted_at" timestamp with time zone,
	"restored_at" timestamp with time zone,
	"deletion_id" uuid
);
--> statement-breakpoint
CREATE TABLE "system_settings" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"key" text NOT NULL,
	"value" jsonb NOT NULL,
	"description" text,
	"is_public" boolean DEFAULT false NOT NULL,
	"is_deleted" boolean DEFAULT false NOT NULL,
	"deleted_at" timestamp with time zone,
	"restored_at" timestamp with time zone,
	"deletion_id" uuid
);
--> statement-breakpoint
CREATE TABLE "otp_codes" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"phone_hash" text NOT NULL,
	"code_hash" text NOT NULL,
	"purpose" text DEFAULT 'login' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"consumed_at" timestamp with time zone,
	"ip" text
);
--> statement-breakpoint
CREATE TABLE "refresh_tokens" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"session_id" uuid NOT NULL,
	"token_hash" text NOT NULL,
	"rotated_at" timestamp with time zone,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "user_sessions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"user_id" uuid NOT NULL,
	"device_name" text,
	"user_agent" text,
	"ip" text,
	"last_used_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone,
	"revoked_reason" text
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"email_encrypted" text,
	"email_hash" text,
	"phone_encrypted" text,
	"phone_hash" text,
	"password_hash" text,
	"full_name" text DEFAULT '' NOT NULL,
	"roles" text[] DEFAULT '{client}'::text[] NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"email_verified_at" timestamp with time zone,
	"phone_verified_at" timestamp with time zone,
	"last_login_at" timestamp with time zone,
	"is_deleted" boolean DEFAULT false NOT NULL,
	"deleted_at" timestamp with time zone,
	"restored_at" timestamp with time zone,
	"deletion_id" uuid
);
--> statement-breakpoint
CREATE TABLE "audit_log" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor_id" uuid,
	"action" text NOT NULL,
	"entity" text NOT NULL,
	"entity_id" uuid NOT NULL,
	"changes" jsonb NOT NULL,
	"request_id" text
);
--> statement-breakpoint
CREATE TABLE "idempotency_keys" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"scope" text NOT NULL,
	"key" text NOT NULL,
	"method" text NOT NULL,
	"path" text NOT NULL,
	"request_hash" text NOT NULL,
	"status_code" integer,
	"response_body" jsonb,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "service_addons" ADD CONSTRAINT "service_addons_subcategory_id_service_subcategories_id_fk" FOREIGN KEY ("subcategory_id") REFERENCES "public"."service_subcategories"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "service_subcategories" ADD CONSTRAINT "service_subcategories_category_id_service_categories_id_fk" FOREIGN KEY ("category_id") REFERENCES "public"."service_categories"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "refresh_tokens" ADD CONSTRAINT "refresh_tokens_session_id_user_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."user_sessions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_sessions" ADD CONSTRAINT "user_sessions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "app_versions_build_live_uq" ON "app_versions" USING btree ("platform","build_number") WHERE not is_deleted;--> statement-breakpoint
CREATE INDEX "app_versions_is_deleted_idx" ON "app_versions" USING btree ("is_deleted");--> statement-breakpoint
CREATE INDEX "app_versions_deletion_id_idx" ON "app_versions" USING btree ("deletion_id") WHERE deletion_id is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "languages_code_live_uq" ON "languages" USING btree ("code") WHERE not is_deleted;--> statement-breakpoint
CREATE UNIQUE INDEX "languages_default_live_uq" ON "languages" USING btree ("is_default") WHERE is_default and not is_deleted;--> statement-breakpoint
CREATE INDEX "languages_is_deleted_idx" ON "languages" USING btree ("is_deleted");--> statement-breakpoint
CREATE INDEX "languages_deletion_id_idx" ON "languages" USING btree ("deletion_id") WHERE deletion_id is not null;--> statement-breakpoint
CREATE INDEX "service_addons_subcategory_idx" ON "service_addons" USING btree ("subcategory_id","sort_order");--> statement-breakpoint
CREATE INDEX "service_addons_is_deleted_idx" ON "service_addons" USING btree ("is_deleted");--> statement-breakpoint
CREATE INDEX "service_addons_deletion_id_idx" ON "service_addons" USING btree ("deletion_id") WHERE deletion_id is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "service_areas_slug_live_uq" ON "service_areas" USING btree ("slug") WHERE not is_deleted;--> statement-breakpoint
CREATE INDEX "service_areas_parent_idx" ON "service_areas" USING btree ("parent_id");--> statement-breakpoint
CREATE INDEX "service_areas_is_deleted_idx" ON "service_areas" USING btree ("is_deleted");--> statement-breakpoint
CREATE INDEX "service_areas_deletion_id_idx" ON "service_areas" USING btree ("deletion_id") WHERE deletion_id is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "service_categories_slug_live_uq" ON "service_categories" USING btree ("slug") WHERE not is_deleted;--> statement-breakpoint
CREATE INDEX "service_categories_sort_idx" ON "service_categories" USING btree ("sort_order","id");--> statement-breakpoint
CREATE INDEX "service_categories_is_deleted_idx" ON "service_categories" USING btree ("is_deleted");--> statement-breakpoint
CREATE INDEX "service_categories_deletion_id_idx" ON "service_categories" USING btree ("deletion_id") WHERE deletion_id is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "service_subcategories_slug_live_uq" ON "service_subcategories" USING btree ("category_id","slug") WHERE not is_deleted;--> statement-breakpoint
CREATE INDEX "service_subcategories_category_idx" ON "service_subcategories" USING btree ("category_id","sort_order");--> statement-breakpoint
CREATE INDEX "service_subcategories_is_deleted_idx" ON "service_subcategories" USING btree ("is_deleted");--> statement-breakpoint
CREATE INDEX "service_subcategories_deletion_id_idx" ON "service_subcategories" USING btree ("deletion_id") WHERE deletion_id is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "system_settings_key_live_uq" ON "system_settings" USING btree ("key") WHERE not is_deleted;--> statement-breakpoint
CREATE INDEX "system_settings_is_deleted_idx" ON "system_settings" USING btree ("is_deleted");--> statement-breakpoint
CREATE INDEX "system_settings_deletion_id_idx" ON "system_settings" USING btree ("deletion_id") WHERE deletion_id is not null;--> statement-breakpoint
CREATE INDEX "otp_codes_phone_idx" ON "otp_codes" USING btree ("phone_hash","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "refresh_tokens_hash_uq" ON "refresh_tokens" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "refresh_tokens_session_idx" ON "refresh_tokens" USING btree ("session_id");--> statement-breakpoint
CREATE INDEX "user_sessions_user_idx" ON "user_sessions" USING btree ("user_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "users_email_hash_live_uq" ON "users" USING btree ("email_hash") WHERE email_hash is not null and not is_deleted;--> statement-breakpoint
CREATE UNIQUE INDEX "users_phone_hash_live_uq" ON "users" USING btree ("phone_hash") WHERE phone_hash is not null and not is_deleted;--> statement-breakpoint
CREATE INDEX "users_is_deleted_idx" ON "users" USING btree ("is_deleted");--> statement-breakpoint
CREATE INDEX "users_deletion_id_idx" ON "users" USING btree ("deletion_id") WHERE deletion_id is not null;--> statement-breakpoint
CREATE INDEX "audit_log_entity_idx" ON "audit_log" USING btree ("entity","entity_id","id");--> statement-breakpoint
CREATE INDEX "audit_log_actor_idx" ON "audit_log" USING btree ("actor_id","id");--> statement-breakpoint
CREATE INDEX "audit_log_created_at_idx" ON "audit_log" USING btree ("created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "idempotency_keys_scope_key_uq" ON "idempotency_keys" USING btree ("scope","key");--> statement-breakpoint
CREATE INDEX "idempotency_keys_expires_idx" ON "idempotency_keys" USING btree ("expires_at");