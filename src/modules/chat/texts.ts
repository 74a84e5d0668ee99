import { IntlMessageFormat } from 'intl-messageformat';
import type { LanguageCode } from '../../platform/i18n.ts';

/** Plural rules and number formats per language; Kyrgyz has its own in ICU. */
const LOCALES: Record<LanguageCode, string> = { ru: 'ru-KG', ky: 'ky-KG', en: 'en' };

/**
 * The server's messages in a room, in ICU MessageFormat: a message stores its key and parameters, and each
 * reader reads it in their own language. Parameters: `order_title`, `staff_name`.
 */
export const SYSTEM_TEXTS = {
  'order_update.assigned': {
    ru: 'Исполнитель назначен по заказу «{order_title}». Здесь вы можете обсудить детали.',
    ky: '«{order_title}» буйрутмасына аткаруучу дайындалды. Бул жерде чоо-жайын талкуулай аласыз.',
    en: 'A provider was assigned to “{order_title}”. Discuss the details here.',
  },
  'order_update.started': {
    ru: 'Работа по заказу «{order_title}» началась.',
    ky: '«{order_title}» буйрутмасы боюнча иш башталды.',
    en: 'Work on “{order_title}” has started.',
  },
  'order_update.work_done': {
    ru: 'Исполнитель отметил работу выполненной. Подтвердите завершение заказа «{order_title}».',
    ky: 'Аткаруучу ишти бүттү деп белгиледи. «{order_title}» буйрутмасынын аякташын ырастаңыз.',
    en: 'The provider marked the work done. Please confirm “{order_title}” is complete.',
  },
  'order_update.completed': {
    ru: 'Заказ «{order_title}» завершён.',
    ky: '«{order_title}» буйрутмасы аяктады.',
    en: '“{order_title}” is complete.',
  },
  'order_update.cancelled': {
    ru: 'Заказ «{order_title}» отменён.',
    ky: '«{order_title}» буйрутмасы жокко чыгарылды.',
    en: '“{order_title}” was cancelled.',
  },
  'order_update.disputed': {
    ru: 'По заказу «{order_title}» открыт спор. Модератор может читать этот чат.',
    ky: '«{order_title}» буйрутмасы боюнча талаш ачылды. Модератор бул чатты окуй алат.',
    en: 'A dispute was opened on “{order_title}”. A moderator may read this chat.',
  },
  'order_update.resolved': {
    ru: 'Спор по заказу «{order_title}» решён.',
    ky: '«{order_title}» буйрутмасы боюнча талаш чечилди.',
    en: 'The dispute on “{order_title}” was resolved.',
  },
  'support.taken': {
    ru: 'Вам отвечает {staff_name}, служба поддержки.',
    ky: 'Сизге колдоо кызматынан {staff_name} жооп берет.',
    en: '{staff_name} from support is answering you.',
  },
  'support.closed': {
    ru: 'Обращение закрыто. Если вопрос остался, откройте новое.',
    ky: 'Кайрылуу жабылды. Суроо калса, жаңысын ачыңыз.',
    en: 'This support chat is closed. Open a new one if you still need help.',
  },
} satisfies Record<string, Record<LanguageCode, string>>;
export type SystemTextKey = keyof typeof SYSTEM_TEXTS;

/** An ICU message in a language, every variable the source names given (a missing one renders empty). */
export function renderIcu(source: string, language: LanguageCode, values: Record<string, string | number>) {
  return String(new IntlMessageFormat(source, LOCALES[language]).format(values));
}

/** A server message's text in the reader's language; a key this version does not know renders as itself. */
export function renderSystemText(
  key: string,
  language: LanguageCode,
  params: Record<string, string | number> | null,
): string {
  const texts = (SYSTEM_TEXTS as Record<string, Record<LanguageCode, string>>)[key];
  if (!texts) return key;
  return renderIcu(texts[language], language, { order_title: '', staff_name: '', ...params });
}
