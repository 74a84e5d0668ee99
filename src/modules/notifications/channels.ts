import { createSigner } from 'fast-jwt';
import type { FastifyBaseLogger } from 'fastify';
import nodemailer from 'nodemailer';
import type { FcmServiceAccount } from '../../platform/config.ts';
import { SmsError, type SmsSender } from '../users/sms.ts';
import type { NotificationType, OutboundChannel, Priority } from './contract.ts';
import type { SmsReports } from './sms-reports.ts';

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
  /** Push: messages with one key replace each other on the device. */
  collapseKey: string | null;
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
    /** The address itself is gone (a push token FCM no longer knows): forget it. */
    readonly addressGone = false,
  ) {
    super(message);
  }
}

/** What a channel that reports delivery later says of a message it took: final once delivered or failed. */
export interface DeliveryReport {
  state: 'pending' | 'delivered' | 'failed';
  response: Record<string, unknown>;
}

export interface ChannelAdapter {
  channel: OutboundChannel;
  send(message: OutboundMessage): Promise<SendOutcome>;
  /**
   * Where the channel reports delivery at a separate request (SMS): what became of the message sent with this
   * provider id. Throws `ChannelError` when the provider could not say.
   */
  report?(providerMessageId: string): Promise<DeliveryReport>;
}

/** `Retry-After` as seconds or an HTTP date, in milliseconds from now; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
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
 * SMS through the platform's sender (users/sms.ts), the one sign-in codes go through: the Kyrgyz gateway
 * where one is configured. The gateway's transaction id comes from the delivery's id, so a retry of a
 * message the gateway took is taken as the same one, and its delivery report is asked for by that id
 * (`reports`, where the gateway is configured).
 */
export function createSmsChannel(sender: SmsSender, reports?: SmsReports): ChannelAdapter {
  return {
    channel: 'sms',
    ...(reports && { report: (providerMessageId: string) => reports.report(providerMessageId) }),
    async send(message) {
      try {
        const receipt = await sender.send(message.to, message.text, message.reference);
        return {
          status: 'sent',
          ...(receipt.messageId && { providerMessageId: receipt.messageId }),
          response: receipt.response,
        };
      } catch (error) {
        if (!(error instanceof SmsError)) throw error;
        throw new ChannelError(error.message, error.retryable ? 'retryable' : 'permanent', error.response);
      }
    },
  };
}

const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
/** FCM's error codes that mean the token will never work again. */
const GONE_TOKEN_CODES = new Set(['UNREGISTERED', 'INVALID_ARGUMENT']);
/** How long FCM keeps trying a device that is offline, and how hard it wakes it, by priority. */
const PUSH_TTL_SECONDS: Record<Priority, number> = {
  low: 86_400,
  normal: 86_400,
  high: 14_400,
  urgent: 3_600,
};

interface FcmErrorBody {
  error?: { status?: string; message?: string; details?: { '@type'?: string; errorCode?: string }[] };
}

/**
 * Push through FCM HTTP v1: an OAuth token from the service account (a signed JWT exchanged at its
 * `token_uri`, kept until a minute before it expires), then one `messages:send` per device. 429 and 5xx are
 * tried again, honouring `Retry-After`; UNREGISTERED and INVALID_ARGUMENT mean the token is gone.
 *
 * `messages:send` takes no idempotency key: a send whose answer was lost and is tried again is a second
 * message (a new `name`), and the device may get both. What the protocol offers instead is replacement on
 * the device, so every send of one delivery carries the delivery's id where it replaces: Android's
 * `notification.tag` (a notification with the tag of one shown replaces it; `collapse_key`, at most 4 per
 * device, only collapses messages still waiting for an offline device, and stays per order), APNs'
 * `apns-collapse-id` (the order's key where there is one, else the delivery's), and `data.delivery_id` for
 * the app to drop a message it already handled.
 */
export function createFcmChannel({
  account,
  endpoint,
}: {
  account: FcmServiceAccount;
  /** `https://fcm.googleapis.com`, or a test's fake. */
  endpoint: string;
}): ChannelAdapter {
  const sign = createSigner({ algorithm: 'RS256', key: account.private_key });
  let cached: { token: string; until: number } | undefined;

  async function accessToken(): Promise<string> {
    if (cached && cached.until > Date.now()) return cached.token;
    const now = Math.floor(Date.now() / 1000);
    const assertion = sign({
      iss: account.client_email,
      scope: FCM_SCOPE,
      aud: account.token_uri,
      iat: now,
      exp: now + 3600,
    });
    const answer = await fetch(account.token_uri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }),
    });
    const body = (await answer.json().catch(() => ({}))) as { access_token?: string; expires_in?: number };
    if (!answer.ok || !body.access_token) {
      throw new ChannelError(
        `the OAuth token endpoint answered ${answer.status}`,
        answer.status === 429 || answer.status >= 500 ? 'retryable' : 'permanent',
        { status: answer.status, body },
        retryAfterMs(answer.headers.get('retry-after')),
      );
    }
    cached = { token: body.access_token, until: Date.now() + ((body.expires_in ?? 3600) - 60) * 1000 };
    return cached.token;
  }

  return {
    channel: 'push',
    async send(message) {
      const urgent = message.priority === 'high' || message.priority === 'urgent';
      const ttl = PUSH_TTL_SECONDS[message.priority];
      const payload = {
        message: {
          token: message.to,
          notification: { title: message.subject, body: message.text },
          data: {
            type: message.type,
            delivery_id: message.reference,
            ...(message.link && { link: message.link }),
          },
          android: {
            priority: urgent ? 'high' : 'normal',
            ttl: `${ttl}s`,
            ...(message.collapseKey && { collapse_key: message.collapseKey }),
            notification: { tag: message.reference },
          },
          apns: {
            headers: {
              'apns-priority': urgent ? '10' : '5',
              'apns-expiration': String(Math.floor(Date.now() / 1000) + ttl),
              'apns-collapse-id': message.collapseKey ?? message.reference,
            },
          },
        },
      };
      let answer: Response;
      try {
        answer = await fetch(`${endpoint}/v1/projects/${account.project_id}/messages:send`, {
          method: 'POST',
          headers: { authorization: `Bearer ${await accessToken()}`, 'content-type': 'application/json' },
          body: JSON.stringify(payload),
        });
      } catch (error) {
        if (error instanceof ChannelError) throw error;
        throw new ChannelError((error as Error).message, 'retryable', { network: true });
      }
      const body = (await answer.json().catch(() => ({}))) as FcmErrorBody & { name?: string };
      if (answer.ok) return { status: 'sent', providerMessageId: body.name, response: { name: body.name } };
      // A token of ours that expired early: the next attempt fetches another.
      if (answer.status === 401) cached = undefined;
      const code =
        body.error?.details?.find((d) => d['@type']?.endsWith('FcmError'))?.errorCode ?? body.error?.status;
      const gone = code !== undefined && GONE_TOKEN_CODES.has(code);
      const retryable = !gone && (answer.status === 429 || answer.status >= 500 || answer.status === 401);
      throw new ChannelError(
        `FCM answered ${answer.status} ${code ?? ''}`.trim(),
        retryable ? 'retryable' : 'permanent',
        { status: answer.status, error: body.error },
        retryAfterMs(answer.headers.get('retry-after')),
        gone,
      );
    },
  };
}
