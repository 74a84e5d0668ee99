import { type SQL, sql } from 'drizzle-orm';
import type { Cache } from '../cache.ts';
import { type Db, prepareSql } from '../db.ts';

/**
 * How close (trigram similarity, 0 to 1) a vocabulary word must be to a query word to stand in for it:
 * "сантехнк" finds "сантехник" (0.58), "убор" "уборка" (0.5), "тазалоо" "тазалоочу" (0.64), but "уборка"
 * does not find "сборка" (0.4).
 */
const CLOSE_WORD_SIMILARITY = 0.45;
/** Close words per query word, nearest first: enough for the forms of one word, few enough to stay fast. */
const CLOSE_WORDS = 8;

/**
 * At most this many new words join a scope's vocabulary from one text written, those that come first in
 * it: a real title and description bring a few words the vocabulary lacks, a text made to fill it brings
 * hundreds. Its other words are still found as typed, only not through a typo.
 */
export const MAX_NEW_WORDS_PER_TEXT = 50;
/** Longer words stay out of the vocabulary (they too are found as typed): no word people type is longer. */
export const MAX_WORD_LENGTH = 32;
/**
 * Whether another text still holds a word is a GIN index scan, which reads all of the word's entries, and
 * a common word has many. Beyond this many entries the scan returns a random sample
 * (`gin_fuzzy_search_limit`), which is as good an answer to "does any text hold it" and reads far less.
 */
const HELD_CHECK_ENTRY_LIMIT = 200;

/** The lexemes a searchable text is matched by; the stored search vectors are built with the same configuration. */
const toSearchVector = (text: SQL) => sql`to_tsvector('simple', ${text})`;

/** The words of what a person typed, split the way the texts were. */
const queryWords = (q: SQL) => sql`unnest(tsvector_to_array(${toSearchVector(q)}))`;

/** A lexeme as a tsquery operand: quoted, so it goes in as it is rather than parsed again. */
const asOperand = (lexeme: SQL) =>
  sql`'''' || replace(replace(${lexeme}, '\\', '\\\\'), '''', '''''') || ''''`;

/**
 * The tsquery for what a person typed: every word must match, in any order, each as itself or as one of
 * its close words in the scope's vocabulary (typos, and the Kyrgyz and Russian word forms the `simple`
 * configuration does not stem). Null when `q` holds no word.
 */
const searchQuery = (scope: SQL, q: SQL): SQL => sql`(
    select string_agg(alternatives, ' & ')::tsquery
    from (
      select '(' || string_agg(${asOperand(sql`x`)}, ' | ') || ')' as alternatives
      from ${queryWords(q)} w
      cross join lateral (
        select w as x
        union
        (select v.word from search_words v
          where v.scope = ${scope} and v.word % w and similarity(v.word, w) >= ${sql.raw(String(CLOSE_WORD_SIMILARITY))}
          order by v.word <-> w
          limit ${sql.raw(String(CLOSE_WORDS))})
      ) close_words
      group by w
    ) words
  )`;

/** The tsquery of every word exactly as typed, in any order: such matches rank above corrected ones. */
const exactSearchQuery = (q: SQL): SQL =>
  sql`(select string_agg(${asOperand(sql`w`)}, ' & ')::tsquery from ${queryWords(q)} w)`;

/**
 * Whether every word typed is in the scope's vocabulary: when one is not, hardly any text matches the words
 * exactly (only one holding a word past its text's MAX_NEW_WORDS_PER_TEXT or longer than MAX_WORD_LENGTH),
 * and searches do not look for exact matches first; the words as typed still find them.
 */
const searchWordsKnown = (scope: SQL, q: SQL): SQL =>
  sql`not exists (select 1 from ${queryWords(q)} w
    where not exists (select 1 from search_words v where v.scope = ${scope} and v.word = w))`;

/** What a person typed, resolved against a scope's vocabulary; the queries are tsquery texts. */
export interface SearchTerms {
  /** Every word as typed or through a close word: what a text must match to be found. */
  query: string;
  /** Every word as typed. */
  exact: string;
  /** Whether every word typed is in the vocabulary; when not, searches do not rank `exact` matches first. */
  known: boolean;
}

/**
 * How long a resolved query is reused. Every change to the vocabulary drops the scope's resolved queries,
 * here and (through the cache's invalidation) in every other API process; it does so inside the changing
 * transaction, so a search racing the commit may keep the old words this long. The words as typed are
 * always in the query, so all that can lag is finding a new word through a typo.
 */
const SEARCH_TERMS_TTL_SECONDS = 10;

export type SearchVocabulary = ReturnType<typeof createSearchVocabulary>;

/**
 * The words of each scope's texts (`search_words`), which typed words are matched against. Queries
 * resolved against it are cached: people type the same few words most of the time.
 */
export function createSearchVocabulary({ cache }: { cache: Cache }) {
  const cachePrefix = (scope: string) => `search-terms:${scope}:`;
  /**
   * Drops the scope's resolved queries when a statement changed its words. Best effort: when the other
   * processes cannot be told (Redis down), theirs lapse within the TTL, which is no reason to fail the
   * change itself.
   */
  async function changed(scope: string, words: unknown[]) {
    if (words.length > 0) await cache.invalidate(cachePrefix(scope)).catch(() => {});
  }

  return {
    /**
     * Adds the words of `text` to the scope's vocabulary, at most MAX_NEW_WORDS_PER_TEXT new ones of at most
     * MAX_WORD_LENGTH characters. Call it in the transaction that publishes the text (never for a draft or
     * anything else only its author sees), so a new word can be found with a typo as soon as the text
     * itself can be found.
     */
    async addWords(tx: Db, scope: string, text: string): Promise<void> {
      const added = await prepareSql(
        tx,
        sql`insert into search_words (scope, word)
          select ${scope}, t.lexeme
          from unnest(${toSearchVector(sql`${text}::text`)}) t
          where char_length(t.lexeme) <= ${sql.raw(String(MAX_WORD_LENGTH))}
            and not exists (select 1 from search_words v where v.scope = ${scope} and v.word = t.lexeme)
          order by t.positions[1]
          limit ${sql.raw(String(MAX_NEW_WORDS_PER_TEXT))}
          on conflict do nothing
          returning word`,
      )();
      await changed(scope, added);
    },

    /**
     * Drops the words of `text` that no text of the scope holds any more, once `text` has been replaced or
     * erased, so the vocabulary keeps no word of an erased name. `held(word)` is the scope's SQL for "some
     * text still matches this one-word tsquery".
     */
    async dropWords(tx: Db, scope: string, text: string, held: (word: SQL) => SQL): Promise<void> {
      await tx.execute(sql.raw(`set local gin_fuzzy_search_limit = ${HELD_CHECK_ENTRY_LIMIT}`));
      const dropped = await prepareSql(
        tx,
        sql`delete from search_words v
          where v.scope = ${scope}
            and v.word in (select ${queryWords(sql`${text}::text`)})
            and not ${held(sql`(${asOperand(sql`v.word`)})::tsquery`)}
          returning v.word`,
      )();
      // Every other GIN scan of the transaction reads all entries again.
      await tx.execute(sql`set local gin_fuzzy_search_limit to default`);
      await changed(scope, dropped);
    },

    /**
     * Drops every word of the scope that none of `heldWords` (a query of one text column: every word the
     * scope's searchable texts hold now) is, for the texts that left without their words being dropped one
     * by one. One statement, so a text published meanwhile is either seen or its words are not yet there.
     * The number of words dropped.
     */
    async pruneWords(tx: Db, scope: string, heldWords: SQL): Promise<number> {
      const dropped = await prepareSql(
        tx,
        sql`delete from search_words v
          where v.scope = ${scope} and v.word not in (select h.word from (${heldWords}) h (word))
          returning v.word`,
      )();
      await changed(scope, dropped);
      return dropped.length;
    },

    /**
     * A scope's resolver of typed words. It is a statement of its own so that the search using its result
     * takes the tsqueries as values: there PostgreSQL plans once for every query, where with the words'
     * expansion inside it estimated each query's word count anew and planned every call again, planning
     * costing the directory more than running it.
     */
    termsResolver(db: Db, scope: string) {
      const q = sql`${sql.placeholder('q')}::text`;
      const scopeValue = sql`${sql.placeholder('scope')}::text`;
      const resolve = prepareSql<{ query: string | null; exact: string; known: boolean }>(
        db,
        sql`select ${searchQuery(scopeValue, q)}::text as query, ${exactSearchQuery(q)}::text as exact,
                   ${searchWordsKnown(scopeValue, q)} as known`,
      );
      /** Null when `q` holds no word: such a search matches nothing. */
      return async (text: string): Promise<SearchTerms | null> => {
        const key = `${cachePrefix(scope)}${text}`;
        const hit = cache.get<{ terms: SearchTerms | null }>(key);
        if (hit) return hit.terms;
        const [row] = await resolve({ q: text, scope });
        const terms = row?.query ? { query: row.query, exact: row.exact, known: row.known } : null;
        cache.set(key, { terms }, SEARCH_TERMS_TTL_SECONDS);
        return terms;
      };
    },
  };
}
