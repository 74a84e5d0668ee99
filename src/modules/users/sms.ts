import { createHash } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { newId } from '../../platform/columns.ts';

/** What the gateway said of a message it took. */
export interface SmsReceipt {
  /** The gateway's id of the message, where it gives one. */
  messageId: string | null;
  response: Record<string, unknown>;
}

/** A message the gateway did not take: `retryable` when it may take it later (its fault, the network). */
export class SmsError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly response: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** Sends a text message to a +996 number. A real provider plugs in here; nothing else knows about SMS. */
export interface SmsSender {
  /**
   * `reference` is the sender's own id of the message, unique: a gateway that keeps transaction ids takes
   * a retry with the same one as the same message. Throws `SmsError` when the gateway does not take it.
   */
  send(phone: string, text: string, reference?: string): Promise<SmsReceipt>;
}

/** Development sender: the message goes to the log, where a developer reads the code. */
export function createLogSmsSender(log: FastifyBaseLogger): SmsSender {
  return {
    async send(phone, text) {
      log.info({ sms: { to: phone, text } }, 'SMS (development sender: not delivered)');
      return { messageId: null, response: { development: true } };
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
      return { messageId: `memory-${messages.length}`, response: {} };
    },
    /** The one-time code in the last message to this phone. */
    lastCodeFor(phone: string): string | undefined {
      const message = messages.findLast((m) => m.phone === phone);
      return message?.text.match(/\b(\d{6})\b/)?.[1];
    },
  } satisfies SmsSender & Record<string, unknown>;
}

export interface SmsProSettings {
  /** The gateway's message endpoint. */
  url: string;
  login: string;
  password: string;
  /** The sender name the gateway approved. */
  sender: string;
  /** `<test>1</test>`: the gateway answers as usual and sends nothing. */
  test: boolean;
}

/** The gateway's longest text; it splits what it sends into parts itself. */
const SMSPRO_MAX_TEXT = 800;
/**
 * Answers that mean the gateway took the message: 0 accepted, 11 accepted in test mode, and 10, a
 * transaction id it has seen before, which is a retry of ours for a message it already took (its clients
 * describe 10 as a repeated id; we repeat one only to retry the same text).
 */
const SMSPRO_ACCEPTED = new Set([0, 10, 11]);
/** 9: the gateway timed out taking it; its clients say to send it again with the same id. */
const SMSPRO_TRY_AGAIN = new Set([9]);

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/**
 * The gateway's transaction id of a message: 12 Latin letters and digits, the most SMSPRO's clients say it
 * takes (notifications/sms-reports.ts), where our references (a delivery's id) have 36 characters. The same
 * reference always makes the same one (71 bits of its hash), so a retry is the same transaction.
 */
export function smsproTransactionId(reference: string) {
  let n = BigInt(`0x${createHash('sha256').update(reference).digest('hex').slice(0, 18)}`);
  let id = '';
  for (let i = 0; i < 12; i++) {
    id += BASE62[Number(n % 62n)];
    n /= 62n;
  }
  return id;
}

const escapeXml = (text: string) =>
  text.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] as string,
  );

const tagOf = (xml: string, tag: string) => new RegExp(`<${tag}>\\s*([^<]*?)\\s*</${tag}>`).exec(xml)?.[1];

/**
 * The Kyrgyz gateways' XML protocol (Nikita's SMSPRO, DOMAIN.md): one POST of `<message>` with our login,
 * a transaction id of ours, the approved sender, the text and the number as 996XXXXXXXXX; the answer's
 * `<status>` says whether it took the message. An HTTP 429 or 5xx, or no answer, may be tried again; a
 * refusal in the answer (wrong login, no funds, a wrong number) is not, but for the gateway's own timeout.
 * The delivery report, at a separate endpoint by the same transaction id, is read by notifications/sms-reports.ts.
 */
export function createSmsProSender(settings: SmsProSettings): SmsSender {
  return {
    async send(phone, text, reference = newId()) {
      const transactionId = smsproTransactionId(reference);
      const body =
        '<?xml version="1.0" encoding="UTF-8"?><message>' +
        `<login>${escapeXml(settings.login)}</login><pwd>${escapeXml(settings.password)}</pwd>` +
        `<id>${escapeXml(transactionId)}</id><sender>${escapeXml(settings.sender)}</sender>` +
        `<text>${escapeXml(text.slice(0, SMSPRO_MAX_TEXT))}</text>` +
        `<phones><phone>${escapeXml(phone.replace(/^\+/, ''))}</phone></phones>` +
        `${settings.test ? '<test>1</test>' : ''}</message>`;
      let answer: Response;
      try {
        answer = await fetch(settings.url, {
          method: 'POST',
          headers: { 'content-type': 'application/xml; charset=utf-8' },
          body,
        });
      } catch (error) {
        throw new SmsError((error as Error).message, true, { network: true });
      }
      const xml = await answer.text();
      if (!answer.ok) {
        throw new SmsError(
          `the gateway answered ${answer.status}`,
          answer.status === 429 || answer.status >= 500,
          {
            status: answer.status,
          },
        );
      }
      const status = Number(tagOf(xml, 'status'));
      if (!SMSPRO_ACCEPTED.has(status)) {
        throw new SmsError(
          `the gateway refused the message: status ${tagOf(xml, 'status') ?? 'none'}`,
          SMSPRO_TRY_AGAIN.has(status),
          {
            status: tagOf(xml, 'status') ?? null,
          },
        );
      }
      return {
        messageId: tagOf(xml, 'id') ?? transactionId,
        response: { status, parts: Number(tagOf(xml, 'smscnt') ?? 1) },
      };
    },
  };
}
