DROP INDEX "orders_search_fts";--> statement-breakpoint
DROP INDEX "orders_search_trgm";--> statement-breakpoint
CREATE INDEX "orders_search_fts" ON "orders" USING gin (to_tsvector('simple', "title" || ' ' || "description")) WHERE status in ('published', 'bidding') and not is_deleted;--> statement-breakpoint
CREATE INDEX "orders_search_trgm" ON "orders" USING gin ((lower("title" || ' ' || "description")) gin_trgm_ops) WHERE status in ('published', 'bidding') and not is_deleted;