CREATE TABLE "search_words" (
	"scope" text NOT NULL,
	"word" text NOT NULL,
	CONSTRAINT "search_words_scope_word_pk" PRIMARY KEY("scope","word")
);
--> statement-breakpoint
DROP INDEX "provider_profiles_search_trgm";--> statement-breakpoint
DROP INDEX "provider_profiles_search_fts";--> statement-breakpoint
ALTER TABLE "provider_profiles" ADD COLUMN "offered_subcategory_ids" uuid[] DEFAULT '{}'::uuid[] NOT NULL;--> statement-breakpoint
ALTER TABLE "provider_profiles" ADD COLUMN "search_vector" "tsvector" GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED NOT NULL;--> statement-breakpoint
CREATE INDEX "search_words_word_trgm" ON "search_words" USING gist ("word" gist_trgm_ops);--> statement-breakpoint
CREATE INDEX "provider_profiles_search_vector_gin" ON "provider_profiles" USING gin ("search_vector");--> statement-breakpoint
-- Searches read the vector of every candidate row: kept in the row (compressed if need be) while the text
-- it is made from, read only when it changes, goes out of line. By default the vector, being the larger,
-- would go out of line first and cost a TOAST look-up per candidate.
ALTER TABLE "provider_profiles" ALTER COLUMN "search_text" SET STORAGE EXTERNAL;--> statement-breakpoint
ALTER TABLE "provider_profiles" ALTER COLUMN "search_vector" SET STORAGE MAIN;--> statement-breakpoint
-- What the app now keeps with every change to a provider's texts and services, for the rows so far.
UPDATE "provider_profiles" p SET "offered_subcategory_ids" = ARRAY(
  SELECT DISTINCT s."subcategory_id" FROM "provider_services" s
  WHERE s."provider_profile_id" = p."id" AND NOT s."is_deleted" AND s."is_active"
);--> statement-breakpoint
INSERT INTO "search_words" ("scope", "word")
SELECT DISTINCT 'providers', w FROM "provider_profiles", unnest(tsvector_to_array("search_vector")) w
ON CONFLICT DO NOTHING;
