import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSmsProSender } from '../users/sms.ts';
import { ChannelError, createSmsChannel, type OutboundMessage } from './channels.ts';

/**
 * A fake of the Kyrgyz gateway's XML protocol (DOMAIN.md): it reads the `<message>`, keeps it, and answers
 * a `<response>` whose status the test chooses per number; a number it is told to fail answers HTTP 503.
 */
const received: string[] = [];
const statusFor = new Map<string, number | 'http-503'>();
let gateway: Server;
let url: string;

beforeAll(async () => {
  gateway = createServer((request, response) => {
    let body = '';
    request.on('data', (c) => {
      body += c;
    });
    request.on('end', () => {
      received.push(body);
      const phone = /<phone>(\d+)<\/phone>/.exec(body)?.[1] ?? '';
      const id = /<id>([^<]+)<\/id>/.exec(body)?.[1] ?? '';
      const status = statusFor.get(phone) ?? 0;
      if (status === 'http-503') {
        response.writeHead(503);
        return response.end('busy');
      }
      response.writeHead(200, { 'content-type': 'application/xml' });
      response.end(
        `<?xml version="1.0" encoding="UTF-8"?><response><id>${id}</id><status>${status}</status><phones>1</phones><smscnt>1</smscnt></response>`,
      );
    });
  });
  await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/api/message`;
});
afterAll(() => new Promise((resolve) => gateway.close(resolve)));

const channel = () =>
  createSmsChannel(
    createSmsProSender({ url, login: 'kgjob', password: 's3cr<t', sender: 'MasterKG', test: true }),
  );

const message = (to: string): OutboundMessage => ({
  channel: 'sms',
  to,
  subject: '',
  text: 'Вход с нового устройства: Pixel 8 & co',
  link: null,
  type: 'new_sign_in',
  priority: 'urgent',
  reference: '01930000-0000-7000-8000-0000000000aa',
  collapseKey: null,
});

describe('SMS through the Kyrgyz gateway', () => {
  it('posts the protocol’s XML and reports the gateway’s id', async () => {
    const outcome = await channel().send(message('+996555123456'));
    expect(outcome).toMatchObject({
      status: 'sent',
      providerMessageId: '01930000-0000-7000-8000-0000000000aa',
    });
    expect(received.at(-1)).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><message><login>kgjob</login><pwd>s3cr&lt;t</pwd>' +
        '<id>01930000-0000-7000-8000-0000000000aa</id><sender>MasterKG</sender>' +
        '<text>Вход с нового устройства: Pixel 8 &amp; co</text><phones><phone>996555123456</phone></phones>' +
        '<test>1</test></message>',
    );
  });

  it('takes a transaction id the gateway has seen as sent: a retry of ours sends nothing twice', async () => {
    statusFor.set('996555000010', 10);
    expect(await channel().send(message('+996555000010'))).toMatchObject({ status: 'sent' });
  });

  it('does not retry a refusal in the answer, and retries an HTTP 503', async () => {
    statusFor.set('996555000004', 4);
    statusFor.set('996555000503', 'http-503');
    const refused = await channel()
      .send(message('+996555000004'))
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ChannelError);
    expect(refused).toMatchObject({ kind: 'permanent', response: { status: '4' } });
    const busy = await channel()
      .send(message('+996555000503'))
      .catch((e: unknown) => e);
    expect(busy).toMatchObject({ kind: 'retryable', response: { status: 503 } });
  });
});
