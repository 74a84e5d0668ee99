import type { FastifyBaseLogger } from 'fastify';
import nodemailer from 'nodemailer';
import type { SmsSender } from '../users/sms.ts';
import type { NotificationType, OutboundChannel, Priority } from './contract.ts';

/** One message to one address, already rendered: an adapter knows nothing of templates or preferences. */
export interface OutboundMessage {
  channel: OutboundChannel;
  /** An email address, a phone number, a device token. */
  to: string;
  subject: string;
  text: string;
  link: string | null;
  type: NotificationType;
  priority: Priority;
  /** Ours, unique: the delivery's id, so a provider that deduplicates sees a retry as the same message. */
  reference: string;
}

/** What the provider said when it took the message. */
export interface SendOutcome {
  /** `delivered` only where the channel reports delivery itself. */
  status: 'sent' | 'delivered';
  providerMessageId?: string;
  response: Record<string, unknown>;
}

/**
 * A send that did not go: `retryable` (rate limited, the provider's fault, the network) is tried again,
 * `permanent` (the request or the address is wrong) and `bounced` (the provider refused the recipient) are not.
 */
export class ChannelError extends Error {
  constructor(
    message: string,
    readonly kind: 'retryable' | 'permanent' | 'bounced',
    readonly response: Record<string, unknown> = {},
    /** From the provider's `Retry-After`. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

export interface ChannelAdapter {
  channel: OutboundChannel;
  send(message: OutboundMessage): Promise<SendOutcome>;
}

/**
 * The development adapter: writes each message to the log and keeps it, for a developer to read and for
 * tests to assert; it reports every message sent.
 */
export function createDevelopmentChannel(channel: OutboundChannel, log?: FastifyBaseLogger) {
  const sent: OutboundMessage[] = [];
  return {
    channel,
    sent,
    async send(message: OutboundMessage): Promise<SendOutcome> {
      sent.push(message);
      log?.info(
        { notification: { channel, to: message.to, subject: message.subject } },
        'notification sent (development adapter)',
      );
      return { status: 'sent', providerMessageId: `dev-${sent.length}`, response: { development: true } };
    },
  } satisfies ChannelAdapter & Record<string, unknown>;
}

/** SMTP reply codes of a refused recipient: the address does not take mail. */
const BOUNCE_CODES = new Set([550, 551, 553]);
/** Errors of the connection, not of the message: tried again. */
const NETWORK_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ECONNREFUSED', 'ECONNRESET']);

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Email through SMTP (`SMTP_URL`, nodemailer): a text and an HTML part, and `List-Unsubscribe` on
 * promotional mail. A 4xx reply and a broken connection are tried again; a 5xx is not, and a refused
 * recipient is a bounce.
 */
export function createEmailChannel({
  url,
  from,
  unsubscribeUrl,
}: {
  url: string;
  from: string;
  unsubscribeUrl: string;
}): ChannelAdapter {
  const transport = nodemailer.createTransport(url);
  return {
    channel: 'email',
    async send(message) {
      const paragraphs = message.text
        .split(/\n{2,}/)
        .map((p) => `<p>${escapeHtml(p).replace(/\n/g, '<br>')}</p>`)
        .join('\n');
      const link = message.link
        ? `\n<p><a href="${escapeHtml(message.link)}">${escapeHtml(message.link)}</a></p>`
        : '';
      try {
        const info = await transport.sendMail({
          from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          html: `<!doctype html><html><body>${paragraphs}${link}</body></html>`,
          messageId: `<${message.reference}@notifications.kg-job-portal>`,
          ...(message.type === 'promotional' && {
            list: { unsubscribe: { url: unsubscribeUrl, comment: 'Unsubscribe' } },
          }),
        });
        return {
          status: 'sent',
          providerMessageId: info.messageId,
          response: { response: info.response, accepted: info.accepted, rejected: info.rejected },
        };
      } catch (error) {
        const failure = error as { code?: string; responseCode?: number; response?: string; message: string };
        const response = {
          code: failure.code,
          response_code: failure.responseCode,
          response: failure.response,
        };
        if (failure.responseCode !== undefined) {
          if (failure.responseCode >= 500) {
            const kind = BOUNCE_CODES.has(failure.responseCode) ? 'bounced' : 'permanent';
            throw new ChannelError(failure.message, kind, response);
          }
          throw new ChannelError(failure.message, 'retryable', response);
        }
        if (failure.code && NETWORK_CODES.has(failure.code)) {
          throw new ChannelError(failure.message, 'retryable', response);
        }
        throw new ChannelError(failure.message, 'permanent', response);
      }
    },
  };
}

/**
 * SMS through the platform's sender (users/sms.ts), the one sign-in codes go through. It reports no
 * message id or delivery yet, so a send it took is `sent`; one it threw on is tried again.
 */
export function createSmsChannel(sender: SmsSender): ChannelAdapter {
  return {
    channel: 'sms',
    async send(message) {
      await sender.send(message.to, message.text);
      return { status: 'sent', response: {} };
    },
  };
}
