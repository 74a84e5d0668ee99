DROP INDEX "app_versions_is_deleted_idx";--> statement-breakpoint
DROP INDEX "languages_is_deleted_idx";--> statement-breakpoint
DROP INDEX "service_addons_is_deleted_idx";--> statement-breakpoint
DROP INDEX "service_areas_is_deleted_idx";--> statement-breakpoint
DROP INDEX "service_categories_is_deleted_idx";--> statement-breakpoint
DROP INDEX "service_subcategories_is_deleted_idx";--> statement-breakpoint
DROP INDEX "system_settings_is_deleted_idx";--> statement-breakpoint
DROP INDEX "bids_is_deleted_idx";--> statement-breakpoint
DROP INDEX "order_addons_is_deleted_idx";--> statement-breakpoint
DROP INDEX "order_photos_is_deleted_idx";--> statement-breakpoint
DROP INDEX "order_reviews_is_deleted_idx";--> statement-breakpoint
DROP INDEX "orders_is_deleted_idx";--> statement-breakpoint
DROP INDEX "client_profiles_is_deleted_idx";--> statement-breakpoint
DROP INDEX "provider_profiles_is_deleted_idx";--> statement-breakpoint
DROP INDEX "provider_services_is_deleted_idx";--> statement-breakpoint
DROP INDEX "user_profiles_is_deleted_idx";--> statement-breakpoint
DROP INDEX "user_verifications_is_deleted_idx";--> statement-breakpoint
DROP INDEX "users_is_deleted_idx";--> statement-breakpoint
CREATE INDEX "app_versions_is_deleted_idx" ON "app_versions" USING btree ("is_deleted") WHERE is_deleted;--> statement-breakpoint
CREATE INDEX "languages_is_deleted_idx" ON "languages" USING btree ("is_deleted") WHERE is_deleted;--> statement-breakpoint
CREATE INDEX "service_addons_is_deleted_idx" ON "service_addons" USING btree ("is_deleted") WHERE is_deleted;--> statement-breakpoint
CREATE INDEX "service_areas_is_deleted_idx" ON "service_areas" USING btree ("is_deleted") WHERE is_deleted;--> statement-breakpoint
CREATE INDEX "service_categories_is_deleted_idx" ON "service_categories" USING btree ("is_deleted") WHERE is_deleted;--> statement-breakpoint
CREATE INDEX "service_subcategories_is_deleted_idx" ON "service_subcategories" USING btree ("is_deleted") WHERE is_deleted;--> statement-breakpoint
CREATE INDEX "system_settings_is_deleted_idx" ON "system_settings" USING btree ("is_deleted") WHERE is_deleted;--> statement-breakpoint
CREATE INDEX "bids_is_deleted_idx" ON "bids" USING btree ("is_deleted") WHERE is_deleted;--> statement-breakpoint
CREATE INDEX "order_addons_is_deleted_idx" ON "order_addons" USING btree ("is_deleted") WHERE is_deleted;--> statement-breakpoint
CREATE INDEX "order_photos_is_deleted_idx" ON "order_photos" USING btree ("is_deleted") WHERE is_deleted;--> statement-breakpoint
CREATE INDEX "order_reviews_is_deleted_idx" ON "order_reviews" USING btree ("is_deleted") WHERE is_deleted;--> statement-breakpoint
CREATE INDEX "orders_is_deleted_idx" ON "orders" USING btree ("is_deleted") WHERE is_deleted;--> statement-breakpoint
CREATE INDEX "client_profiles_is_deleted_idx" ON "client_profiles" USING btree ("is_deleted") WHERE is_deleted;--> statement-breakpoint
CREATE INDEX "provider_profiles_is_deleted_idx" ON "provider_profiles" USING btree ("is_deleted") WHERE is_deleted;--> statement-breakpoint
CREATE INDEX "provider_services_is_deleted_idx" ON "provider_services" USING btree ("is_deleted") WHERE is_deleted;--> statement-breakpoint
CREATE INDEX "user_profiles_is_deleted_idx" ON "user_profiles" USING btree ("is_deleted") WHERE is_deleted;--> statement-breakpoint
CREATE INDEX "user_verifications_is_deleted_idx" ON "user_verifications" USING btree ("is_deleted") WHERE is_deleted;--> statement-breakpoint
CREATE INDEX "users_is_deleted_idx" ON "users" USING btree ("is_deleted") WHERE is_deleted;