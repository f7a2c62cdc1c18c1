// The outbox worker's task: sends one queued mail. A sent mail is never sent again: the row is
// checked (under a lock) before sending and marked sent right after. No transaction is held open
// while the mail server talks: a slow relay must not hold a database connection (nor, on the
// embedded database, every other connection: its single session serves the open transaction).
// Delivery is at least once: if the process dies after the server accepted the mail and before it
// is marked sent, the job runs again and the mail goes again (same Message-ID, so mail clients
// show it once). pg-boss runs each job in one worker at a time.
import type pg from 'pg';
import { withTransaction } from '../db/client.js';
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
  // 1. Still to send? Then a fresh access token for the link it carries (committed with the check).
  const prepared = await withTransaction(s.pool, async (client) => {
    const { rows } = await client.query<MailRow>(
      `SELECT id, kind, recipient, payload, state, "ticketId" FROM "OutboundMail" WHERE id = $1 FOR UPDATE`,
      [mailId],
    );
    const mail = rows[0];
    if (!mail || mail.state === 'SENT') return null;
    const token = await issueAccessToken(client, mail.ticketId, mail.id, s.accessLinkDays);
    return { mail, token };
  });
  if (!prepared) return 'skipped';
  const { mail, token } = prepared;

  // 2. Send, outside any transaction.
  const rendered = renderMail(mail.kind, mail.payload, `${s.publicUrl}/s/${token}`);
  const messageId = s.ids.forMail(mail.ticketId, mail.id);
  const root = s.ids.threadRoot(mail.ticketId);
  let where: string;
  try {
    where = await s.transport.send({
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
  } catch (err) {
    // The link it would have carried never left: withdrawn at once. Then the attempt is recorded.
    await s.pool
      .query(
        `WITH revoked AS (
           UPDATE "TicketAccessToken" SET "revokedAt" = now() WHERE "mailId" = $1 AND "revokedAt" IS NULL
         )
         UPDATE "OutboundMail" SET attempts = attempts + 1, "lastError" = $2,
                state = CASE WHEN $3 THEN 'FAILED'::"MailState" ELSE state END
          WHERE id = $1 AND state <> 'SENT'`,
        [mail.id, (err as Error).message.slice(0, 1000), lastAttempt],
      )
      .catch((e: unknown) => console.error(`[mail] could not record the failure of mail ${mail.id}:`, (e as Error).message));
    throw err;
  }

  // 3. Marked sent: never sent again.
  await s.pool.query(
    `UPDATE "OutboundMail" SET state = 'SENT', "sentAt" = now(), "messageId" = $2,
            attempts = attempts + 1, "lastError" = NULL WHERE id = $1`,
    [mail.id, messageId],
  );
  console.log(`[mail] ${mail.kind} for ${mail.payload.reference} to ${mail.recipient}: ${where}`);
  return 'sent';
}
