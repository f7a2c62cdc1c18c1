// The outbox worker's task: sends one queued mail. A sent mail is never sent again: the row is
// checked (under a lock) before sending and marked sent right after. No transaction is held open
// while the mail server talks: a slow relay must not hold a database connection (nor, on the
// embedded database, every other connection: its single session serves the open transaction).
// Delivery is at least once: if the process dies after the server accepted the mail and before it
// is marked sent, the job runs again and the mail goes again (same Message-ID, so mail clients
// show it once). pg-boss runs each job in one worker at a time.
//
// A reply's files go as MIME attachments, their bytes read just before sending (after the lock's
// transaction, so that none is open while they are read or sent): a file redacted between the
// reply and the sending is left out and the mail says it was withdrawn; the mail never fails for
// it. One mail holds its files in memory, at most the attachment limits' worth (the payload lists
// no more), so MAIL_WORKER_CONCURRENCY mails at once hold at most that many times it.
import type pg from 'pg';
import type Mail from 'nodemailer/lib/mailer/index.js';
import { withTransaction } from '../db/client.js';
import type { MailKind } from '../generated/prisma/enums.js';
import { readReplyFiles, type ReplyFile } from '../services/attachments/read.js';
import type { MailPayload } from '../services/mail/outbox.js';
import type { StaffNoticePayload } from '../services/notifications/digest.js';
import { issueAccessToken } from '../services/public/access-links.js';
import type { MessageIds } from './message-id.js';
import { renderMail, renderStaffNotice, type MailFileNames } from './render.js';
import type { MailTransport } from './transport.js';
import { logError, logInfo } from '../log.js';

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
  /** Null for mails to staff (STAFF_NOTICE): no ticket's thread, no access link. */
  ticketId: number | null;
}

/** Automatic notices are marked so that auto-responders do not answer them (RFC 3834). */
const AUTOMATIC: ReadonlySet<MailKind> = new Set(['TICKET_CREATED', 'WAITING_ON_CUSTOMER', 'RESOLVED', 'STAFF_NOTICE']);

/**
 * The type a file goes with: the one detected from its bytes, but message/* (a forwarded .eml)
 * goes as a plain file. Such a part may not be base64-encoded (RFC 2046 5.2.1), and as it is it
 * may hold 8-bit bytes and lines past SMTP's 998 characters; its .eml name still opens it in a
 * mail client.
 */
const mailContentType = (mediaType: string) => (/^message\//i.test(mediaType) ? 'application/octet-stream' : mediaType);

interface MailFiles {
  names: MailFileNames;
  attachments: Mail.Attachment[];
}

/** A reply's files, read now: those redacted since are named as withdrawn, never sent. */
async function replyFiles(s: MailSender, mail: MailRow): Promise<MailFiles> {
  const listed = mail.kind === 'REPLY' ? (mail.payload.attachments ?? []) : [];
  if (listed.length === 0 || mail.ticketId === null) return { names: { attached: [], withdrawn: [] }, attachments: [] };
  const files = await readReplyFiles(s.pool, mail.ticketId, listed);
  const kept = files.filter((f): f is ReplyFile & { bytes: Buffer } => f.bytes !== null);
  return {
    names: { attached: kept.map((f) => f.fileName), withdrawn: files.filter((f) => !f.bytes).map((f) => f.fileName) },
    attachments: kept.map((f) => ({ filename: f.fileName, content: f.bytes, contentType: mailContentType(f.mediaType) })),
  };
}

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
    // A mail to staff carries no private link: they sign in.
    const token = mail.ticketId === null ? null : await issueAccessToken(client, mail.ticketId, mail.id, s.accessLinkDays);
    return { mail, token };
  });
  if (!prepared) return 'skipped';
  const { mail, token } = prepared;

  // 2. Its files read, then sent, outside any transaction.
  const ticketId = mail.ticketId;
  const messageId = ticketId === null ? s.ids.forNotice(mail.id) : s.ids.forMail(ticketId, mail.id);
  const root = ticketId === null ? null : s.ids.threadRoot(ticketId);
  let where: string;
  let files: MailFiles;
  try {
    files = await replyFiles(s, mail);
    const rendered =
      mail.kind === 'STAFF_NOTICE'
        ? renderStaffNotice(mail.payload as unknown as StaffNoticePayload, s.publicUrl)
        : renderMail(mail.kind, mail.payload, `${s.publicUrl}/s/${token}`, files.names);
    where = await s.transport.send({
      from: s.from,
      to: mail.recipient,
      subject: rendered.subject,
      text: rendered.text,
      html: rendered.html,
      messageId,
      ...(root ? { inReplyTo: root, references: [root] } : {}),
      headers: AUTOMATIC.has(mail.kind) ? { 'Auto-Submitted': 'auto-generated' } : {},
      attachments: files.attachments,
      fileName: `${new Date().toISOString().replace(/[:.]/g, '-')}-${mail.payload.reference ?? 'notice'}-${mail.id}.eml`,
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
      .catch((e: unknown) => logError(`[mail] could not record the failure of mail ${mail.id}:`, (e as Error).message));
    throw err;
  }

  // 3. Marked sent: never sent again.
  await s.pool.query(
    `UPDATE "OutboundMail" SET state = 'SENT', "sentAt" = now(), "messageId" = $2,
            attempts = attempts + 1, "lastError" = NULL WHERE id = $1`,
    [mail.id, messageId],
  );
  const { attached, withdrawn } = files.names;
  const filed = attached.length || withdrawn.length ? ` with ${attached.length} file(s)${withdrawn.length ? `, ${withdrawn.length} withdrawn` : ''}` : '';
  logInfo(`[mail] #${mail.id} ${mail.kind} for ${mail.payload.reference ?? 'staff'}${filed}: ${where}`); // no address: personal data
  return 'sent';
}
