import type { FastifyBaseLogger } from 'fastify';

/** Sends a text message to a +996 number. A real provider plugs in here; nothing else knows about SMS. */
export interface SmsSender {
  send(phone: string, text: string): Promise<void>;
}

/** Development sender: the message goes to the log, where a developer reads the code. */
export function createLogSmsSender(log: FastifyBaseLogger): SmsSender {
  return {
    async send(phone, text) {
      log.info({ sms: { to: phone, text } }, 'SMS (development sender: not delivered)');
    },
  };
}

/** Test sender: keeps every message so tests read the code that was sent, never guess it. */
export function createMemorySmsSender() {
  const messages: { phone: string; text: string }[] = [];
  return {
    messages,
    async send(phone: string, text: string) {
      messages.push({ phone, text });
    },
    /** The one-time code in the last message to this phone. */
    lastCodeFor(phone: string): string | undefined {
      const message = messages.findLast((m) => m.phone === phone);
      return message?.text.match(/\b(\d{6})\b/)?.[1];
    },
  } satisfies SmsSender & Record<string, unknown>;
}
