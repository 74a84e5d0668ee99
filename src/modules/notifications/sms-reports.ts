import type { SmsProSettings } from '../users/sms.ts';
import { ChannelError, type DeliveryReport } from './channels.ts';

/** Asks the gateway what became of a message it took, by the transaction id it was sent with. */
export interface SmsReports {
  report(transactionId: string): Promise<DeliveryReport>;
}

/**
 * The `<report>` of one number: 0 queued, 1 handed to the operator, 6 a state the gateway does not name yet
 * are not final; 3 delivered; 2 rejected, 4 not delivered, 5 not sent for want of funds, 7 no report from
 * the operator in time are.
 */
const REPORT_STATES: Record<number, DeliveryReport['state']> = {
  0: 'pending',
  1: 'pending',
  2: 'failed',
  3: 'delivered',
  4: 'failed',
  5: 'failed',
  6: 'pending',
  7: 'failed',
};
/** The answer's `<status>` 4: no report (yet) for this id; 5: asked about this id too often. Ask later. */
const ASK_LATER = new Set([4, 5]);

const escapeXml = (text: string) =>
  text.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] as string,
  );

const tagOf = (xml: string, tag: string) => new RegExp(`<${tag}>\\s*([^<]*?)\\s*</${tag}>`).exec(xml)?.[1];

/**
 * SMSPRO's delivery report (DOMAIN.md: "report delivery at a separate endpoint by transaction id"): a POST of
 * `<dr><login/><pwd/><id>transaction id</id></dr>` to `dr` beside the message endpoint (`/api/dr`), answered
 * `<response><status/><phone><number/><report/><sendTime/><rcvTime/></phone>...</response>`, `<status>` 0
 * when the request was good (1 bad request, 2 wrong login, 3 address not allowed, 4 no report for the id,
 * 5 too many requests for it). The gateway's own documentation was not found among the stored documentation
 * pages; this shape and these codes are those two independent clients of the gateway agree on (a .NET client,
 * `SmsProNikita`, and a Bitrix module, `mlife.smsservices`), not the gateway's word; the .NET client also
 * says a transaction id is at most 12 Latin letters and digits (`smsproTransactionId` in users/sms.ts). An HTTP 429 or 5xx, or
 * no answer, is asked again later, as are the answer's 4 and 5; 1-3 are the request's fault and fail the check.
 */
export function createSmsProReports(
  settings: Pick<SmsProSettings, 'url' | 'login' | 'password'>,
): SmsReports {
  const url = new URL('dr', settings.url);
  return {
    async report(transactionId) {
      const body =
        '<?xml version="1.0" encoding="UTF-8"?><dr>' +
        `<login>${escapeXml(settings.login)}</login><pwd>${escapeXml(settings.password)}</pwd>` +
        `<id>${escapeXml(transactionId)}</id></dr>`;
      let answer: Response;
      try {
        answer = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/xml; charset=utf-8' },
          body,
        });
      } catch (error) {
        throw new ChannelError((error as Error).message, 'retryable', { network: true });
      }
      const xml = await answer.text();
      if (!answer.ok) {
        const retryable = answer.status === 429 || answer.status >= 500;
        throw new ChannelError(
          `the gateway answered ${answer.status}`,
          retryable ? 'retryable' : 'permanent',
          {
            status: answer.status,
          },
        );
      }
      const status = Number(tagOf(xml, 'status'));
      if (ASK_LATER.has(status)) return { state: 'pending', response: { status } };
      if (status !== 0) {
        throw new ChannelError(`the gateway refused the report request: status ${status}`, 'permanent', {
          status: tagOf(xml, 'status') ?? null,
        });
      }
      const report = Number(tagOf(xml, 'report'));
      return {
        state: REPORT_STATES[report] ?? 'pending',
        response: {
          status,
          report,
          ...(tagOf(xml, 'rcvTime') && { received_at: tagOf(xml, 'rcvTime') }),
        },
      };
    },
  };
}
