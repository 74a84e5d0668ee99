-- Only published text feeds the search vocabulary. The orders' vocabulary is the words of the orders open
-- for bids (published or bidding, not deleted), the ones search shows: migration 0012 filled it from every
-- order, drafts too, and the words only drafts, closed or deleted orders brought in go. Words longer than
-- the vocabulary now takes (32 characters) go from every scope.
DELETE FROM "search_words" v
WHERE v."scope" = 'orders'
  AND v."word" NOT IN (
    SELECT w FROM "orders", unnest(tsvector_to_array(to_tsvector('simple', "title" || ' ' || "description"))) w
    WHERE "status" IN ('published', 'bidding') AND NOT "is_deleted"
  );--> statement-breakpoint
DELETE FROM "search_words" WHERE char_length("word") > 32;
