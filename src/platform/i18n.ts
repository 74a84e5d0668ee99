import { type Static, Type } from 'typebox';
import { Text } from './validation.ts';

export const LANGUAGES = ['ru', 'ky', 'en'] as const;
export type LanguageCode = (typeof LANGUAGES)[number];
export const LanguageCodeSchema = Type.Enum(LANGUAGES);
export const DEFAULT_LANGUAGE: LanguageCode = 'ru';

/** A text in every platform language; Russian is required, the others fall back to it. */
export const Translations = Type.Object(
  {
    ru: Text({ maxLength: 2000 }),
    ky: Type.Optional(Text({ maxLength: 2000 })),
    en: Type.Optional(Text({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);
export type TranslationsValue = Static<typeof Translations>;

/** Picks the best supported language from an Accept-Language header. */
export function negotiateLanguage(
  header: string | undefined,
  fallback: LanguageCode = DEFAULT_LANGUAGE,
): LanguageCode {
  if (!header) return fallback;
  const ranked = header
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      return { lang: tag.toLowerCase().split('-')[0] ?? '', q: q ? Number(q.slice(2)) : 1, index };
    })
    .filter((r) => r.q > 0 && (LANGUAGES as readonly string[]).includes(r.lang))
    .sort((a, b) => b.q - a.q || a.index - b.index);
  return (ranked[0]?.lang as LanguageCode | undefined) ?? fallback;
}

export function translate(
  text: TranslationsValue | null | undefined,
  lang: LanguageCode,
  fallback = DEFAULT_LANGUAGE,
) {
  if (!text) return null;
  return text[lang] || text[fallback] || text.ru;
}
