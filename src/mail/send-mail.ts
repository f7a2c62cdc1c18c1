// The outbox worker's task: sends one queued mail. The mail row is locked while it is sent, and a
// sent mail is never sent again, so retries and several instances cannot double it; its access
// token is made in the same transaction (a failed send leaves none behind).
import type pg from 'pg';
import type { MailKind } from '../generated/prisma/enums.js';
import type { MailPayload } from '../services/mail/outbox.js';
import { issueAccessToken } from '../services/public/access-links.js';
import type { MessageIds } from './message-id.js';
import { renderMail } from './render.js';
import type { MailTransport } from './transport.js';

export interface MailSender {
  pool: pg.Pool;
  transport: MailTransport;
  ids: MessageIds;
  from: string;
  /** Where the customer-facing pages are, e.g. https://help.example.com (no trailing slash). */
  publicUrl: string;
  accessLinkDays: number;
}

interface MailRow {
  id: number;
  kind: MailKind;
  recipient: string;
  payload: MailPayload;
  state: 'QUEUED' | 'SENT' | 'FAILED';
  ticketId: number;
}

/** Automatic notices are marked so that auto-responders do not answer them (RFC 3834). */
const AUTOMATIC: ReadonlySet<MailKind> = new Set(['TICKET_CREATED', 'WAITING_ON_CUSTOMER', 'RESOLVED']);

/**
 * Sends mail `mailId` unless it was sent already. `lastAttempt`: a failure now marks it FAILED
 * (shown to staff) instead of leaving it queued for another try.
 */
export async function sendQueuedMail(s: MailSender, mailId: number, lastAttempt = false): Promise<'sent' | 'skipped'> {
  const client = await s.pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<MailRow>(
      `SELECT id, kind, recipient, payload, state, "ticketId" FROM "OutboundMail" WHERE id = $1 FOR UPDATE`,
      [mailId],
    );
    const mail = rows[0];
    if (!mail || mail.state === 'SENT') {
      await client.query('COMMIT');
      return 'skipped';
    }
    const token = await issueAccessToken(client, mail.ticketId, mail.id, s.accessLinkDays);
    const rendered = renderMail(mail.kind, mail.payload, `${s.publicUrl}/s/${token}`);
    const messageId = s.ids.forMail(mail.ticketId, mail.id);
    const root = s.ids.threadRoot(mail.ticketId);
    const where = await s.transport.send({
      from: s.from,
      to: mail.recipient,
      subject: rendered.subject,
      text: rendered.text,
      html: rendered.html,
      messageId,
      inReplyTo: root,
      references: [root],
      headers: AUTOMATIC.has(mail.kind) ? { 'Auto-Submitted': 'auto-generated' } : {},
      fileName: `${new Date().toISOString().replace(/[:.]/g, '-')}-${mail.payload.reference}-${mail.id}.eml`,
    });
    await client.query(
      `UPDATE "OutboundMail" SET state = 'SENT', "sentAt" = now(), "messageId" = $2,
              attempts = attempts + 1, "lastError" = NULL WHERE id = $1`,
      [mail.id, messageId],
    );
    await client.query('COMMIT');
    console.log(`[mail] ${mail.kind} for ${mail.payload.reference} to ${mail.recipient}: ${where}`);
    return 'sent';
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    const message = (err as Error).message.slice(0, 1000);
    await s.pool
      .query(
        `UPDATE "OutboundMail" SET attempts = attempts + 1, "lastError" = $2,
                state = CASE WHEN $3 THEN 'FAILED'::"MailState" ELSE state END
          WHERE id = $1 AND state <> 'SENT'`,
        [mailId, message, lastAttempt],
      )
      .catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
