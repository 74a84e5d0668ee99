import { type SQL, sql } from 'drizzle-orm';
import type { Db } from '../db.ts';

/**
 * How close (trigram similarity, 0 to 1) a vocabulary word must be to a query word to stand in for it:
 * "сантехнк" finds "сантехник" (0.58), "убор" "уборка" (0.5), "тазалоо" "тазалоочу" (0.64), but "уборка"
 * does not find "сборка" (0.4).
 */
const CLOSE_WORD_SIMILARITY = 0.45;
/** Close words per query word, nearest first: enough for the forms of one word, few enough to stay fast. */
const CLOSE_WORDS = 8;

/** The lexemes a searchable text is matched by; the stored search vectors are built with the same configuration. */
export const toSearchVector = (text: SQL) => sql`to_tsvector('simple', ${text})`;

/**
 * Adds the words of `text` to the scope's vocabulary. Call it in the transaction that changes the text, so
 * a new word can be found with a typo as soon as the text itself can be found.
 */
export async function addSearchWords(tx: Db, scope: string, text: string): Promise<void> {
  await tx.execute(sql`
    insert into search_words (scope, word)
    select ${scope}, w from unnest(tsvector_to_array(${toSearchVector(sql`${text}`)})) w
    on conflict do nothing`);
}

/** The words of what a person typed, split the way the texts were. */
const queryWords = (q: SQL) => sql`unnest(tsvector_to_array(${toSearchVector(q)}))`;

/** A lexeme as a tsquery operand: quoted, so it goes in as it is rather than parsed again. */
const asOperand = (lexeme: SQL) =>
  sql`'''' || replace(replace(${lexeme}, '\\', '\\\\'), '''', '''''') || ''''`;

/**
 * The tsquery for what a person typed: every word must match, in any order, each as itself or as one of
 * its close words in the scope's vocabulary (typos, and the Kyrgyz and Russian word forms the `simple`
 * configuration does not stem). Null when `q` holds no word, and null matches nothing.
 */
export function searchQuery(scope: string, q: SQL): SQL {
  return sql`(
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
}

/** The tsquery of every word exactly as typed, in any order: such matches rank above corrected ones. */
export const exactSearchQuery = (q: SQL): SQL =>
  sql`(select string_agg(${asOperand(sql`w`)}, ' & ')::tsquery from ${queryWords(q)} w)`;

/**
 * Whether every word typed is in the scope's vocabulary: when one is not, nothing matches the words
 * exactly, and there is no need to look.
 */
export const searchWordsKnown = (scope: string, q: SQL): SQL =>
  sql`not exists (select 1 from ${queryWords(q)} w
    where not exists (select 1 from search_words v where v.scope = ${scope} and v.word = w))`;

/**
 * Drops the words of `text` that no text of the scope holds any more, once `text` has been replaced or
 * erased, so the vocabulary keeps no word of an erased name. `held(word)` is the scope's SQL for "some
 * text still matches this one-word tsquery".
 */
export async function dropSearchWords(
  tx: Db,
  scope: string,
  text: string,
  held: (word: SQL) => SQL,
): Promise<void> {
  await tx.execute(sql`
    delete from search_words v
    where v.scope = ${scope}
      and v.word in (select ${queryWords(sql`${text}`)})
      and not ${held(sql`(${asOperand(sql`v.word`)})::tsquery`)}`);
}
