import type { Database } from '../../src/db/client.js';
import { startInboundSmtp, type InboundSmtp, type InboundSmtpDeps } from '../../src/mail/inbound-smtp.js';
import { MessageIds } from '../../src/mail/message-id.js';
import nodemailer from 'nodemailer';

/** The Message-ID signer of the tests (what the outbox of testApp signs with, too). */
export const testMessageIds = () => new MessageIds('a-test-secret-that-is-long-enough-1234', 'caseboard.test');

export type TestInboundConfig = InboundSmtpDeps['config'];

/** The inbound listener's settings for a test: on a free loopback port, generous limits. */
export function testInboundConfig(overrides: Partial<TestInboundConfig> = {}): TestInboundConfig {
  return {
    INBOUND_SMTP_PORT: 0,
    INBOUND_SMTP_HOST: '127.0.0.1',
    INBOUND_MAX_BYTES: 1024 * 1024,
    INBOUND_MAX_NEW_PER_HOUR: 100,
    MAIL_FROM: 'Caseboard Support <support@caseboard.test>',
    ...overrides,
  };
}

/** A real inbound SMTP listener on the test's database. */
export function startTestInbound(db: Database, overrides: Partial<TestInboundConfig> = {}, ids = testMessageIds()): Promise<InboundSmtp> {
  return startInboundSmtp({ db, ids, config: testInboundConfig(overrides) });
}

/** Hands `raw` to the listener over SMTP, bytes as they are (the way an MTA delivers); throws the server's refusal. */
export async function sendRaw(smtp: Pick<InboundSmtp, 'port'>, envelope: { from: string; to: string[] }, raw: Buffer | string): Promise<void> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtp.port, secure: false, ignoreTLS: true });
  try {
    await transport.sendMail({ envelope, raw });
  } finally {
    transport.close();
  }
}
