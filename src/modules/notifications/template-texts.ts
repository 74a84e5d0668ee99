import type { LanguageCode } from '../../platform/i18n.ts';
import {
  CHANNELS,
  type Channel,
  channelAllowed,
  NOTIFICATION_TYPES,
  type NotificationType,
} from './contract.ts';

/**
 * The seeded texts of every type, in ICU MessageFormat, ru, ky and en. Variables the pipeline fills in:
 * `order_title`, `amount` (formatted for the language), `other_name`, `other_gender`, `bid_count`, `status`, `event` (what
 * happened, for the types that several events share), `rating`, `decision`, `device`, `link`.
 */
interface Text {
  subject: string;
  body: string;
}

const STATUS = {
  ru: '{status, select, published {опубликован} bidding {принимает предложения} assigned {исполнитель назначен} in_progress {в работе} completed {завершён} cancelled {отменён} disputed {открыт спор} other {{status}}}',
  ky: '{status, select, published {жарыяланды} bidding {сунуштар кабыл алынууда} assigned {аткаруучу дайындалды} in_progress {аткарылууда} completed {аяктады} cancelled {жокко чыгарылды} disputed {талаш ачылды} other {{status}}}',
  en: '{status, select, published {published} bidding {taking offers} assigned {assigned} in_progress {in progress} completed {completed} cancelled {cancelled} disputed {in dispute} other {{status}}}',
} satisfies Record<LanguageCode, string>;

const TEXTS: Record<NotificationType, Record<LanguageCode, Text>> = {
  bid_received: {
    ru: {
      subject: 'Новое предложение: «{order_title}»',
      body: '{other_name} предлагает {amount}. {bid_count, plural, one {Всего # предложение} few {Всего # предложения} many {Всего # предложений} other {Всего # предложения}}.',
    },
    ky: {
      subject: 'Жаңы сунуш: «{order_title}»',
      body: '{other_name} {amount} сунуштайт. Баары {bid_count, plural, other {# сунуш}}.',
    },
    en: {
      subject: 'New offer on “{order_title}”',
      body: '{other_name} offers {amount}. {bid_count, plural, one {# offer} other {# offers}} so far.',
    },
  },
  bid_accepted: {
    ru: {
      subject: 'Ваше предложение принято',
      body: 'Клиент принял ваше предложение {amount} по заказу «{order_title}».',
    },
    ky: {
      subject: 'Сунушуңуз кабыл алынды',
      body: 'Кардар «{order_title}» буйрутмасы боюнча {amount} сунушуңузду кабыл алды.',
    },
    en: {
      subject: 'Your offer was accepted',
      body: 'The client accepted your offer of {amount} for “{order_title}”.',
    },
  },
  bid_rejected: {
    ru: { subject: 'Предложение отклонено', body: 'Ваше предложение по заказу «{order_title}» не выбрано.' },
    ky: {
      subject: 'Сунуш четке кагылды',
      body: '«{order_title}» буйрутмасы боюнча сунушуңуз тандалган жок.',
    },
    en: { subject: 'Offer not chosen', body: 'Your offer for “{order_title}” was not chosen.' },
  },
  order_assigned: {
    ru: {
      subject: 'Исполнитель назначен: «{order_title}»',
      body: 'Договорились с {other_name} на {amount}. Обсудите детали в чате заказа.',
    },
    ky: {
      subject: 'Аткаруучу дайындалды: «{order_title}»',
      body: '{other_name} менен {amount} боюнча макулдаштыңыз. Чоо-жайын буйрутманын чатында талкуулаңыз.',
    },
    en: {
      subject: 'Agreed: “{order_title}”',
      body: 'You agreed with {other_name} on {amount}. Talk over the details in the order chat.',
    },
  },
  order_update: {
    ru: {
      subject: 'Заказ «{order_title}»',
      body: `{event, select, order_work_done {Исполнитель отметил работу выполненной. Подтвердите завершение.} bid_withdrawn {{other_name} {other_gender, select, female {отозвала} male {отозвал} other {отозвал(а)}} своё предложение.} order_withdrawn_by_catalog {Заказ снят: его категория больше недоступна.} order_restored_by_catalog {Заказ снова доступен.} other {Статус: ${STATUS.ru}.}}`,
    },
    ky: {
      subject: '«{order_title}» буйрутмасы',
      body: `{event, select, order_work_done {Аткаруучу ишти бүттү деп белгиледи. Аякташын ырастаңыз.} bid_withdrawn {{other_name} сунушун кайтарып алды.} order_withdrawn_by_catalog {Буйрутма алынды: анын категориясы жеткиликсиз.} order_restored_by_catalog {Буйрутма кайра жеткиликтүү.} other {Абалы: ${STATUS.ky}.}}`,
    },
    en: {
      subject: 'Order “{order_title}”',
      body: `{event, select, order_work_done {The provider marked the work done. Please confirm it.} bid_withdrawn {{other_name} withdrew their offer.} order_withdrawn_by_catalog {The order was taken down: its category is no longer offered.} order_restored_by_catalog {The order is open again.} other {Status: ${STATUS.en}.}}`,
    },
  },
  order_completed: {
    ru: { subject: 'Заказ завершён', body: 'Заказ «{order_title}» завершён. Оцените {other_name}.' },
    ky: { subject: 'Буйрутма аяктады', body: '«{order_title}» буйрутмасы аяктады. {other_name} баалаңыз.' },
    en: { subject: 'Order completed', body: '“{order_title}” is completed. Rate {other_name}.' },
  },
  // `event` is the chat's type: an order's chat names its order.
  chat_message: {
    ru: {
      subject: 'Сообщение от {other_name}',
      body: '{event, select, order_chat {Новое сообщение по заказу «{order_title}».} support_chat {Новое сообщение в чате поддержки.} other {Новое сообщение.}}',
    },
    ky: {
      subject: '{other_name} жазды',
      body: '{event, select, order_chat {«{order_title}» буйрутмасы боюнча жаңы билдирүү.} support_chat {Колдоо чатында жаңы билдирүү.} other {Жаңы билдирүү.}}',
    },
    en: {
      subject: 'Message from {other_name}',
      body: '{event, select, order_chat {A new message about “{order_title}”.} support_chat {A new message from support.} other {A new message.}}',
    },
  },
  payment_success: {
    ru: { subject: 'Оплата прошла', body: 'Оплата {amount} по заказу «{order_title}» прошла.' },
    ky: { subject: 'Төлөм өттү', body: '«{order_title}» буйрутмасы боюнча {amount} төлөм өттү.' },
    en: { subject: 'Payment received', body: 'The payment of {amount} for “{order_title}” went through.' },
  },
  payment_failed: {
    ru: { subject: 'Оплата не прошла', body: 'Оплата {amount} по заказу «{order_title}» не прошла.' },
    ky: { subject: 'Төлөм өткөн жок', body: '«{order_title}» буйрутмасы боюнча {amount} төлөм өткөн жок.' },
    en: { subject: 'Payment failed', body: 'The payment of {amount} for “{order_title}” failed.' },
  },
  refund_update: {
    ru: { subject: 'Возврат средств', body: 'Возврат {amount} по заказу «{order_title}».' },
    ky: { subject: 'Акчаны кайтаруу', body: '«{order_title}» буйрутмасы боюнча {amount} кайтарылат.' },
    en: { subject: 'Refund', body: 'A refund of {amount} for “{order_title}”.' },
  },
  dispute_update: {
    ru: {
      subject: 'Спор по заказу «{order_title}»',
      body: '{event, select, dispute_opened {{other_name} {other_gender, select, female {открыла} male {открыл} other {открыл(а)}} спор. Модератор рассмотрит его.} other {Спор рассмотрен: решение в заказе.}}',
    },
    ky: {
      subject: '«{order_title}» боюнча талаш',
      body: '{event, select, dispute_opened {{other_name} талаш ачты. Модератор карап чыгат.} other {Талаш каралды: чечими буйрутмада.}}',
    },
    en: {
      subject: 'Dispute over “{order_title}”',
      body: '{event, select, dispute_opened {{other_name} opened a dispute. A moderator will review it.} other {The dispute was resolved: the ruling is on the order.}}',
    },
  },
  review_received: {
    ru: {
      subject: 'Новый отзыв',
      body: '{other_name} {other_gender, select, female {оценила} male {оценил} other {оценил(а)}} вас на {rating, plural, one {# звезду} few {# звезды} many {# звёзд} other {# звезды}} за заказ «{order_title}».',
    },
    ky: {
      subject: 'Жаңы пикир',
      body: '{other_name} «{order_title}» буйрутмасы үчүн сизге {rating, plural, other {# жылдыз}} койду.',
    },
    en: {
      subject: 'New review',
      body: '{other_name} rated you {rating, plural, one {# star} other {# stars}} for “{order_title}”.',
    },
  },
  verification_update: {
    ru: {
      subject: 'Проверка: {decision, select, approved {одобрено} other {отклонено}}',
      body: '{decision, select, approved {Ваша заявка на проверку одобрена.} other {Ваша заявка на проверку отклонена. Подробности в профиле.}}',
    },
    ky: {
      subject: 'Текшерүү: {decision, select, approved {жактырылды} other {четке кагылды}}',
      body: '{decision, select, approved {Текшерүү өтүнмөңүз жактырылды.} other {Текшерүү өтүнмөңүз четке кагылды. Чоо-жайы профилде.}}',
    },
    en: {
      subject: 'Verification {decision, select, approved {approved} other {declined}}',
      body: '{decision, select, approved {Your verification request was approved.} other {Your verification request was declined. See your profile for why.}}',
    },
  },
  new_sign_in: {
    ru: {
      subject: 'Новый вход в аккаунт',
      body: 'Вход с нового устройства: {device}. Если это были не вы, завершите сеанс и смените пароль.',
    },
    ky: {
      subject: 'Аккаунтка жаңы кирүү',
      body: 'Жаңы түзмөктөн кирүү: {device}. Бул сиз болбосоңуз, сеансты бүтүрүп, сырсөздү алмаштырыңыз.',
    },
    en: {
      subject: 'New sign-in to your account',
      body: 'A sign-in from a new device: {device}. If it was not you, end that session and change your password.',
    },
  },
  system_alert: {
    ru: { subject: 'Сообщение платформы', body: '{message}' },
    ky: { subject: 'Платформанын билдирүүсү', body: '{message}' },
    en: { subject: 'From the platform', body: '{message}' },
  },
  promotional: {
    ru: { subject: '{title}', body: '{message}' },
    ky: { subject: '{title}', body: '{message}' },
    en: { subject: '{title}', body: '{message}' },
  },
};

const OPEN: Record<LanguageCode, string> = { ru: 'Открыть', ky: 'Ачуу', en: 'Open' };

export interface SeededTemplate {
  notificationType: NotificationType;
  channel: Channel;
  language: LanguageCode;
  name: string;
  subject: string;
  content: string;
}

/**
 * Every template the platform starts with: each type on each channel it may use, in each language. Mail
 * carries the link in its text; the other channels hand it to the app.
 */
export const SEEDED_TEMPLATES: SeededTemplate[] = NOTIFICATION_TYPES.flatMap((notificationType) =>
  CHANNELS.filter((channel) => channelAllowed(notificationType, channel)).flatMap((channel) =>
    (Object.entries(TEXTS[notificationType]) as [LanguageCode, Text][]).map(([language, text]) => ({
      notificationType,
      channel,
      language,
      name: `${notificationType}.${channel}.${language}`,
      subject: text.subject,
      content: channel === 'email' ? `${text.body}\n\n${OPEN[language]}: {link}` : text.body,
    })),
  ),
);
