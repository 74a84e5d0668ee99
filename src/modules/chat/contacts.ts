/**
 * Contact details and off-platform deals in a message's text (DOMAIN.md: taking the deal off the platform
 * is the abuse marketplaces fight most): Kyrgyz phone numbers in their international (+996 …) and local
 * (0 555 …, 555 …) forms, emails, messenger handles, and "pay me directly" phrases in Russian and Kyrgyz.
 */
const PATTERNS: RegExp[] = [
  // +996 555 12 34 56, 996555123456, (0555) 123-456, 0 555 123 456: nine digits after the country or trunk code.
  /(?:\+\s*996|\b996|\b0)[\s\-().]*\d(?:[\s\-().]*\d){8}\b/g,
  // 555 123 456, 700-12-34-56: a mobile number without its trunk zero.
  /\b[2579]\d{2}(?:[\s\-.]*\d){6}\b/g,
  /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}.-]+\.\p{L}{2,}/gu,
  /(?:^|[\s(])@[A-Za-z][A-Za-z0-9_]{4,31}\b/g,
  /\b(?:whats\s?app|ватс?апп?|вотсап|telegram|телеграмм?|телега|viber|вайбер|вибер)\b/giu,
  /(?:оплат[аиу]|плат[иь]те?|заплат(?:и|ите)|переведи(?:те)?|деньги)\s+(?:мне\s+)?напрямую/giu,
  /(?:мимо|без|в\s+обход)\s+(?:сайта|приложения|платформы|сервиса)/giu,
  /(?:түз\s+(?:төлө(?:ңүз|гүлө)?|акча\s+которуңуз|мага\s+төлө)|сайтсыз|тиркемесиз|сайтты\s+айланып)/giu,
];

const MASK = '•••';

/** Whether the text holds contact details or an off-platform deal. */
export const hasContacts = (text: string) => PATTERNS.some((p) => text.match(p) !== null);

/** The text with each contact detail and off-platform phrase replaced by a mask. */
export function maskContacts(text: string): string {
  let masked = text;
  for (const pattern of PATTERNS) {
    masked = masked.replace(pattern, (found) => {
      const lead = found.match(/^[\s(]/)?.[0] ?? '';
      return `${lead}${MASK}`;
    });
  }
  return masked;
}
