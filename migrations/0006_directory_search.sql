CREATE TABLE "search_words" (
	"scope" text NOT NULL,
	"word" text NOT NULL,
	CONSTRAINT "search_words_scope_word_pk" PRIMARY KEY("scope","word")
);
--> statement-breakpoint
DROP INDEX "provider_profiles_search_trgm";--> statement-breakpoint
DROP INDEX "provider_profiles_search_fts";--> statement-breakpoint
ALTER TABLE "provider_profiles" ADD COLUMN "search_vector" "tsvector" GENERATED ALWAYS AS (to_tsvector('simple', search_text)) STORED NOT NULL;--> statement-breakpoint
CREATE INDEX "search_words_word_trgm" ON "search_words" USING gist ("word" gist_trgm_ops);--> statement-breakpoint
CREATE INDEX "provider_profiles_search_vector_gin" ON "provider_profiles" USING gin ("search_vector");--> statement-breakpoint
-- The directory's vocabulary from the providers' texts so far; the app adds the words of every text it changes.
INSERT INTO "search_words" ("scope", "word")
SELECT DISTINCT 'providers', w FROM "provider_profiles", unnest(tsvector_to_array("search_vector")) w
ON CONFLICT DO NOTHING;
