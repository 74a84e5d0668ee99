DROP INDEX "orders_search_trgm";--> statement-breakpoint
-- The orders' vocabulary, which order search now widens typed words through, for the orders so far; the
-- order service keeps it from here on.
INSERT INTO "search_words" ("scope", "word")
SELECT DISTINCT 'orders', w FROM "orders", unnest(tsvector_to_array(to_tsvector('simple', "title" || ' ' || "description"))) w
ON CONFLICT DO NOTHING;
