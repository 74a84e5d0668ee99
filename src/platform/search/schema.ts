import { sql } from 'drizzle-orm';
import { index, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';

/**
 * The distinct words of a module's searchable texts, one list per `scope`, for typo tolerance: a query word
 * is widened to its close words here (trigram similarity) before the full-text match, the way the pg_trgm
 * documentation suggests, so the similarity is computed over a few hundred words rather than over every
 * row's text. Derived data that any module's texts can rebuild, never referenced or shown: so no UUID
 * or timestamps, unlike the domain tables.
 */
export const searchWords = pgTable(
  'search_words',
  {
    scope: text('scope').notNull(),
    word: text('word').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.scope, t.word] }),
    // GiST rather than GIN: it orders by distance (`<->`), so the closest words come first without a sort.
    index('search_words_word_trgm').using('gist', sql`${t.word} gist_trgm_ops`),
  ],
);
