// Mail from customers: every message is recorded (InboundMail) with what became of it, in the
// same transaction as what it did (a reply added to its ticket, a new ticket), so a message is
// never half taken: either both are there or neither, and the MTA is told to try again.
//
// What happens to a message, in this order:
//  1. A Message-ID seen before: nothing (a redelivery); the earlier record is the answer.
//  2. Automatic mail (auto-replies, bounces, delivery reports, mail from Caseboard's own address):
//     recorded as IGNORED with the reason; never a ticket, never a reply, never answered — so no
//     mail loop can start here.
//  3. Which ticket it is about: genuine signed Caseboard Message-IDs in In-Reply-To/References
//     first (a forged or altered one is no match), else a [CB-XXXXXXX] tag in the subject.
//     Several different tickets: QUARANTINED (ambiguous), listing them.
//  4. A ticket matched: from its customer (or an address merged into that customer) → the
//     customer's reply (ADDED; a resolved ticket opens again). From anyone else, or the ticket is
//     closed → QUARANTINED, saying how it matched and whose ticket it is.
//  5. No ticket: a new EMAIL ticket with the sender as its customer (NEW_TICKET) — unless this
//     address already opened INBOUND_MAX_NEW_PER_HOUR tickets by mail within the hour:
//     QUARANTINED, so that a loop with another robot or a flood stops there. The sender is mailed
//     a generic acknowledgement (the reference, never their subject or text) unless the backscatter
//     policy says no (acknowledgementRefusal below); the record says why not.
//
// Authentication (src/mail/auth-results.ts), when MAIL_TRUSTED_AUTHSERV_ID names the
// organisation's mail server: between 3 and 4, a message whose From domain that server found
// not authenticated (DMARC failed; or without DMARC, neither SPF nor DKIM passed aligned) is
// QUARANTINED with the reason — never added to a ticket, never a new ticket, never answered.
// With MAIL_REQUIRE_AUTHENTICATION so is one the server did not find authenticated at all.
// An envelope sender (MAIL FROM) of another domain than From does not hold a message by itself
// (mailing lists, forwarders and bulk senders do that every day); it is said in the reason of
// any message that is held, and shown in the quarantine.
import type { Db, Tx } from '../../db/client.js';
import { isUniqueViolation } from '../../db/errors.js';
import { normalizeReference } from '../../domain/reference.js';
import type { InboundMail, InboundMailState } from '../../generated/prisma/client.js';
import { aligned, domainOf, evaluateAuthentication, type AuthVerdict } from '../../mail/auth-results.js';
import type { MessageIds } from '../../mail/message-id.js';
import { automaticReason } from '../../mail/automatic.js';
import { clip, MAX_BODY_CHARS, noNul, visibleText } from '../../mail/parse.js';
import { holdMailAttachments } from '../attachments/attach.js';
import { incomingFile, type IncomingFile } from '../attachments/files.js';
import { attachmentLimits, limitBreach } from '../attachments/limits.js';
import { withStagedFiles } from '../attachments/store.js';
import { ValidationError } from '../errors.js';
import { addCustomerReply } from '../public/customer-ticket.js';
import { createTicketForCustomer } from '../tickets/create-ticket.js';
import { teamForRecipients } from '../teams/teams.js';
import { invalidateQueueCounts } from '../tickets/queue.js';
import { ticketTransaction } from '../tickets/events.js';

/** One received message, as the SMTP listener (src/mail/parse.ts) hands it over. */
export interface ParsedInbound {
  /** The Message-ID header as sent (with its angle brackets), or null when it had none. */
  messageId: string | null;
  /** The From header's first address (lower-case) and display name; address '' when it had none usable. */
  from: { address: string; name: string | null };
  /** SMTP MAIL FROM, lower-case; '' is the null sender of bounces. */
  envelopeSender: string;
  /** SMTP RCPT TO addresses, lower-case: a team's address routes a new ticket to that team. */
  recipients?: string[];
  subject: string;
  /** The plain text (mailparser converts HTML-only mail to text). */
  text: string;
  inReplyTo: string | null;
  references: string[];
  /** Lower-case header names → values, for telling automatic mail apart. */
  headers: Record<string, string>;
  /** Names of attached files. */
  attachments?: string[];
  /**
   * The attached files with their bytes (inline images with their Content-ID; the files of
   * forwarded messages too). Kept with the entry the message becomes, or with the message while
   * it is held in quarantine.
   */
  files?: { fileName: string; contentType: string; contentId: string | null; inline: boolean; nested?: boolean; bytes: Buffer }[];
  /** Files past the most one message keeps (the decoder's cap): said in the entry. */
  filesLeftOut?: number;
  /** The whole decoded text, before quotes were cut (kept as the original: "show the whole message"). */
  fullText?: string;
  /** Forwarded messages (message/rfc822 parts): their text is shown in the entry. */
  forwarded?: { subject: string; from: string; date: string | null; text: string }[];
  /** Media types of the attached (non-text) parts, for telling reports apart. */
  attachmentTypes?: string[];
  /** The Authentication-Results header fields ("Authentication-Results: …"), topmost first. */
  authenticationResults?: string[];
}

export interface InboundOptions {
  /** Caseboard's own sending address (MAIL_FROM): mail from it is a loop. */
  ownAddress: string;
  /** INBOUND_MAX_NEW_PER_HOUR. */
  maxNewPerHour: number;
  /** MAIL_TRUSTED_AUTHSERV_ID; none: Authentication-Results fields are ignored. */
  trustedAuthservIds?: readonly string[];
  /** MAIL_REQUIRE_AUTHENTICATION: only mail the trusted server found authenticated is taken. */
  requireAuthentication?: boolean;
  /** MAIL_ACK_MAX_PER_ADDRESS / MAIL_ACK_MAX_PER_DOMAIN: "request received" mails per hour. */
  ackMaxPerAddress?: number;
  ackMaxPerDomain?: number;
}

export const ACK_DEFAULTS = { perAddress: 5, perDomain: 50 } as const;

export interface ReceiveResult {
  mail: InboundMail;
  /** The same Message-ID was received before: nothing was done, `mail` is the earlier record. */
  redelivered: boolean;
}

const MAX_SUBJECT = 998;
const MAX_NAME = 200;
const MAX_MESSAGE_ID = 998;
const MAX_MESSAGE_ID_BYTES = 900;
/** More candidates than this in one message are not looked up (nobody's reply names that many). */
const MAX_CANDIDATES = 20;


/** The address in `Name <address>` (or the whole value), lower-case. */
export function addressOf(value: string): string {
  const m = /<([^<>\s]+)>\s*$/.exec(value);
  return (m?.[1] ?? value).trim().toLowerCase();
}

/** Why a message is automatic mail that must never be answered or become a ticket (the rules: src/mail/automatic.ts). */
export { automaticReason };

/** The [CB-XXXXXXX] tags in a subject, as references (case, spaces and the O/0 mix-up forgiven). */
export function subjectReferences(subject: string): string[] {
  const found = new Set<string>();
  for (const m of subject.matchAll(/\[\s*(CB[\s-]*[0-9A-Za-z]{7})\s*\]/gi)) {
    const ref = normalizeReference(m[1]!);
    if (ref) found.add(ref);
    if (found.size >= MAX_CANDIDATES) break;
  }
  return [...found];
}

interface Candidate {
  id: number;
  reference: string;
  status: string;
  customerId: number;
  customerName: string;
  customerEmail: string;
}

type Match =
  | { kind: 'none' }
  | { kind: 'ambiguous'; how: 'signed' | 'subject'; tickets: Candidate[] }
  | { kind: 'ticket'; how: 'signed' | 'subject'; ticket: Candidate };

const HOW = {
  signed: 'a Caseboard Message-ID in In-Reply-To/References',
  subject: 'the [CB-…] tag in the subject',
} as const;

async function candidates(tx: Tx, where: { id: { in: number[] } } | { reference: { in: string[] } }): Promise<Candidate[]> {
  const rows = await tx.ticket.findMany({
    where,
    select: { id: true, reference: true, status: true, customerId: true, customer: { select: { name: true, email: true } } },
    orderBy: { id: 'asc' },
  });
  return rows.map((t) => ({
    id: t.id,
    reference: t.reference,
    status: t.status,
    customerId: t.customerId,
    customerName: t.customer.name,
    customerEmail: t.customer.email,
  }));
}

/** Which ticket the message is about: signed Message-IDs first, then the subject's tag. */
async function matchTicket(tx: Tx, ids: MessageIds, msg: ParsedInbound): Promise<Match> {
  const signed = ids.ticketIdsIn(msg.inReplyTo ?? undefined, msg.references).slice(0, MAX_CANDIDATES);
  const bySigned = signed.length ? await candidates(tx, { id: { in: signed } }) : [];
  if (bySigned.length > 1) return { kind: 'ambiguous', how: 'signed', tickets: bySigned };
  if (bySigned.length === 1) return { kind: 'ticket', how: 'signed', ticket: bySigned[0]! };
  const refs = subjectReferences(msg.subject);
  const bySubject = refs.length ? await candidates(tx, { reference: { in: refs } }) : [];
  if (bySubject.length > 1) return { kind: 'ambiguous', how: 'subject', tickets: bySubject };
  if (bySubject.length === 1) return { kind: 'ticket', how: 'subject', ticket: bySubject[0]! };
  return { kind: 'none' };
}

/**
 * Whether `address` is the ticket's customer: their address, or the address of a record that
 * was merged into theirs (staff decided the two are the same person).
 */
export async function isTicketCustomer(tx: Tx, address: string, customerId: number): Promise<boolean> {
  const rows = await tx.$queryRaw<{ ok: number }[]>`
    WITH RECURSIVE chain AS (
      SELECT id, "mergedIntoId", 1 AS depth FROM "Customer" WHERE email = ${address}::varchar
      UNION ALL
      SELECT c.id, c."mergedIntoId", chain.depth + 1 FROM "Customer" c JOIN chain ON c.id = chain."mergedIntoId"
      WHERE chain.depth < 50
    )
    SELECT 1::int AS ok FROM chain WHERE id = ${customerId}::int LIMIT 1`;
  return rows.length > 0;
}

/** New tickets this address opened by mail within the last hour. */
async function newTicketsLastHour(tx: Tx, address: string): Promise<number> {
  return tx.inboundMail.count({
    where: { fromAddress: address, state: 'NEW_TICKET', receivedAt: { gte: new Date(Date.now() - 3600_000) } },
  });
}

const LIST_HEADERS = ['list-id', 'list-post', 'list-unsubscribe'] as const;

/**
 * Why a new ticket opened by this message gets no "request received" mail, or null when it does.
 * The acknowledgement goes to the From address, which anyone can write: answering every message
 * would let Caseboard be used to mail strangers (backscatter). So none goes
 * - when the trusted mail server did not find the sender authenticated (a configured
 *   MAIL_TRUSTED_AUTHSERV_ID and no PASS: the field was expected and is missing or says nothing);
 * - to mailing-list mail (RFC 3834 §2: never answer automatically what came through a list);
 * - past MAIL_ACK_MAX_PER_ADDRESS such mails to this address, or MAIL_ACK_MAX_PER_DOMAIN to its
 *   domain, within the last hour (counted in the outbox, so every instance sees the same count).
 * (Automatic mail never gets here: it is IGNORED.) What is sent says only the reference and a
 * generic text, never the sender's subject, name or words (src/mail/render.ts).
 */
async function acknowledgementRefusal(
  tx: Tx,
  msg: ParsedInbound,
  address: string,
  verdict: AuthVerdict | null,
  opts: InboundOptions,
): Promise<string | null> {
  if (verdict && verdict.status !== 'PASS') return `the sender is not authenticated (${verdict.explanation})`;
  const list = LIST_HEADERS.find((h) => h in msg.headers);
  if (list) return `mailing-list mail (${list}) is never answered automatically`;
  const perAddress = opts.ackMaxPerAddress ?? ACK_DEFAULTS.perAddress;
  const perDomain = opts.ackMaxPerDomain ?? ACK_DEFAULTS.perDomain;
  if (perAddress === 0 || perDomain === 0) return 'acknowledgements are turned off';
  const domain = domainOf(address);
  // One count at a time per domain, so that simultaneous messages cannot all slip under it.
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`caseboard.ack:${domain}`}::text, 0))`;
  const [counts] = await tx.$queryRaw<{ address: number; domain: number }[]>`
    SELECT (SELECT count(*) FROM (SELECT 1 FROM "OutboundMail"
              WHERE recipient = ${address}::varchar AND kind = 'TICKET_CREATED' AND "createdAt" > now() - interval '1 hour'
              LIMIT ${perAddress}::int) a)::int AS address,
           (SELECT count(*) FROM (SELECT 1 FROM "OutboundMail"
              WHERE "recipientDomain" = ${domain}::varchar AND kind = 'TICKET_CREATED' AND "createdAt" > now() - interval '1 hour'
              LIMIT ${perDomain}::int) d)::int AS domain`;
  if (counts!.address >= perAddress) return `${perAddress} acknowledgements already went to this address within the hour (the limit)`;
  if (counts!.domain >= perDomain) return `${perDomain} acknowledgements already went to ${domain} within the hour (the limit)`;
  return null;
}

/** At most this much of a message's whole text is kept as its original (1 MB). */
const MAX_ORIGINAL_CHARS = 1024 * 1024;
/** Text of each forwarded message shown in the entry, at most. */
const MAX_FORWARDED_CHARS = 8_000;

/**
 * The text kept: what the sender wrote (quotes cut), then the text of each forwarded message
 * (message/rfc822 parts: a forward is what the customer wants read), within MAX_BODY_CHARS.
 */
async function bodyOf(msg: ParsedInbound): Promise<string> {
  let text = await visibleText(msg.text);
  // More files than one message keeps (the decoder's cap): said, so that staff ask for the rest.
  if (msg.filesLeftOut) {
    const note = `[${msg.filesLeftOut} more attached file${msg.filesLeftOut === 1 ? ' was' : 's were'} not kept: a message keeps at most 100.]`;
    text = text ? `${clip(text, MAX_BODY_CHARS - note.length - 2).trimEnd()}\n\n${note}` : note;
  }
  const forwards = (msg.forwarded ?? []).slice(0, 5).map((f) => {
    const head = [`---------- Forwarded message ----------`, f.from && `From: ${clip(f.from, 300)}`, f.date && `Date: ${f.date}`, `Subject: ${clip(f.subject, 300)}`]
      .filter(Boolean)
      .join('\n');
    return `${head}\n\n${clip(f.text.trim(), MAX_FORWARDED_CHARS)}`;
  });
  if (forwards.length === 0) return text;
  const all = [text, ...forwards].filter(Boolean).join('\n\n');
  return all.length <= MAX_BODY_CHARS ? all : `${clip(all, MAX_BODY_CHARS - 60).trimEnd()}\n\n[… cut: the message was longer than this]`;
}

/**
 * A message's files as the attachment services take them (names made safe, hashed). An empty part
 * carries nothing to keep (mail clients send them for a file that failed to attach): left out, not
 * refused — refusing would bounce the whole message, or hold a reply for nothing.
 */
function filesOf(msg: ParsedInbound): IncomingFile[] {
  return (msg.files ?? [])
    .filter((f) => f.bytes.length > 0)
    .map((f) => incomingFile(f.fileName, f.bytes, { declaredType: f.contentType, contentId: f.contentId, inline: f.inline, nested: f.nested ?? false }));
}

/** The message's files break the attachment limits: refused whole (SMTP 552), nothing recorded. */
export class MailTooLargeError extends Error {}

/**
 * Takes one received message. Idempotent by Message-ID: a redelivery does nothing and returns
 * the earlier record (also when two deliveries race: the second one's transaction fails on the
 * unique Message-ID and is rolled back whole, ticket or reply included).
 */
export async function receiveMail(db: Db, ids: MessageIds, msg: ParsedInbound, opts: InboundOptions): Promise<ReceiveResult> {
  // Kept (and deduplicated on) only when its unique index can hold it: a btree entry holds at most
  // ~2.7 KB, and 998 characters of CJK text are ~3 KB (that message would fail on every retry).
  const messageId =
    msg.messageId && msg.messageId.length <= MAX_MESSAGE_ID && Buffer.byteLength(msg.messageId) <= MAX_MESSAGE_ID_BYTES
      ? msg.messageId
      : null;
  const earlier = async () => (messageId ? db.inboundMail.findUnique({ where: { messageId } }) : null);
  const seen = await earlier();
  if (seen) return { mail: seen, redelivered: true };

  const address = msg.from.address.trim().toLowerCase();
  const files = filesOf(msg);
  const breach = limitBreach(files, attachmentLimits());
  if (breach) throw new MailTooLargeError(breach);
  const body = await bodyOf(msg);
  const trustedIds = opts.trustedAuthservIds ?? [];
  const verdict = trustedIds.length
    ? evaluateAuthentication(msg.authenticationResults ?? [], trustedIds, address, msg.envelopeSender)
    : null;
  const envelopeDomain = msg.envelopeSender ? domainOf(msg.envelopeSender) : '';
  const envelopeNote =
    envelopeDomain && !aligned(envelopeDomain, domainOf(address))
      ? ` The envelope sender (MAIL FROM) ${clip(msg.envelopeSender, 254)} is of another domain than the From address.`
      : '';
  const base = {
    messageId,
    fromAddress: address,
    fromName: msg.from.name ? clip(msg.from.name, MAX_NAME) : null,
    subject: clip(msg.subject, MAX_SUBJECT),
    body,
    originalText: msg.fullText ? clip(noNul(msg.fullText), MAX_ORIGINAL_CHARS) : null,
    envelopeSender: clip(msg.envelopeSender, 254),
    authStatus: verdict?.status ?? null,
    authResults: verdict?.summary ?? null,
  };
  type Extra = { id?: number; reason?: string; ticketId?: number; matchedTicketId?: number; workLogEntryId?: number };
  const record = (tx: Tx, state: InboundMailState, extra: Extra = {}) =>
    tx.inboundMail.create({
      data: { ...base, state, ...extra, ...(state === 'QUARANTINED' && extra.reason ? { reason: extra.reason + envelopeNote } : {}) },
    });

  try {
    const automatic = automaticReason({ ...msg, from: { ...msg.from, address } }, opts.ownAddress);
    if (automatic) {
      return { mail: await record(db, 'IGNORED', { reason: automatic }), redelivered: false };
    }
    // Large files' bytes are written before the transaction (src/services/attachments/store.ts).
    const mail = await withStagedFiles(db, files, (staged) => ticketTransaction(
      db,
      async (tx) => {
        // The record's id first: the files it brings name it (attachments are never changed after).
        const [{ id }] = await tx.$queryRaw<[{ id: number }]>`SELECT nextval(pg_get_serial_sequence('"InboundMail"', 'id'))::int AS id`;
        const receivedAt = new Date();
        // Held for staff: the files wait with the message, and follow it to a ticket (quarantine.ts).
        const hold = async (extra: Omit<Extra, 'id'>) => {
          const held = await record(tx, 'QUARANTINED', { ...extra, id });
          await holdMailAttachments(tx, held.id, staged, held.receivedAt);
          return held;
        };
        const match = await matchTicket(tx, ids, msg);
        if (verdict && (verdict.status === 'FAIL' || (opts.requireAuthentication && verdict.status !== 'PASS'))) {
          const named = match.kind === 'ticket' ? ` It names ${match.ticket.reference} (${match.ticket.customerEmail}) by ${HOW[match.how]}.` : '';
          return hold({
            matchedTicketId: match.kind === 'ticket' ? match.ticket.id : undefined,
            reason:
              `Not authenticated: ${verdict.explanation}` +
              (verdict.summary ? ` The trusted mail server reported: ${verdict.summary}.` : '') +
              ` Held so that a forged sender reaches no ticket and gets no answer.${named}`,
          });
        }
        if (match.kind === 'ambiguous') {
          const list = match.tickets.map((t) => `${t.reference} (${t.customerEmail})`).join(', ');
          return hold({ reason: `Ambiguous: ${HOW[match.how]} names several tickets: ${list}.` });
        }
        if (match.kind === 'ticket') {
          const t = match.ticket;
          const matched = `Matched ${t.reference} by ${HOW[match.how]}`;
          if (!(await isTicketCustomer(tx, address, t.customerId))) {
            return hold({
              matchedTicketId: t.id,
              reason:
                `${matched}, but the sender ${address} is not its customer ` +
                `(${t.customerName} <${t.customerEmail}>)${t.status === 'CLOSED' ? '; the ticket is also closed' : ''}.`,
            });
          }
          if (t.status === 'CLOSED') {
            return hold({ matchedTicketId: t.id, reason: `${matched}, but the ticket is closed and takes no more replies.` });
          }
          let entryId: number;
          try {
            const reply = await addCustomerReply(db, t.id, body || (staged.length ? '' : '(empty message)'), { tx, files: staged, inboundMailId: id });
            entryId = reply.entry.id;
          } catch (err) {
            // Refused before anything was written (closed since the look-up, or the reply breaks a
            // rule of entries, checked before the status change): hold it.
            if (err instanceof ValidationError) {
              return hold({ matchedTicketId: t.id, reason: `${matched}, but the reply was refused: ${err.message}` });
            }
            throw err;
          }
          return record(tx, 'ADDED', { id, ticketId: t.id, matchedTicketId: t.id, workLogEntryId: entryId, reason: `${matched}.` });
        }
        // A new ticket, unless this address has opened too many within the hour. The lock makes
        // simultaneous messages from one address count one after the other.
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`caseboard.inbound:${address}`}::text, 0))`;
        const recent = await newTicketsLastHour(tx, address);
        if (recent >= opts.maxNewPerHour) {
          return hold({
            reason: `Too many new tickets from this address: ${recent} in the last hour (at most ${opts.maxNewPerHour}); held so that a mail loop or flood stops here.`,
          });
        }
        const noAck = await acknowledgementRefusal(tx, msg, address, verdict, opts);
        const ticket = await createTicketForCustomer(
          db,
          {
            title: clip(msg.subject.trim(), 200) || '(no subject)',
            description: body || (staged.length ? '(see the attached files)' : '(empty message)'),
            channel: 'EMAIL',
            urgency: 'NORMAL',
            customer: { name: clip(base.fromName ?? '', 120) || clip(address.split('@')[0]!, 120) || address, email: address },
            files: staged,
            inboundMailId: id,
            teamId: await teamForRecipients(tx, msg.recipients ?? []),
          },
          { tx, notify: noAck === null },
        );
        return record(tx, 'NEW_TICKET', { id, ticketId: ticket.id, ...(noAck ? { reason: `No acknowledgement mailed: ${noAck}.` } : {}) });
      },
      { timeout: 30_000, maxWait: 10_000 },
    ));
    invalidateQueueCounts();
    return { mail, redelivered: false };
  } catch (err) {
    // The same message delivered twice at once: the other delivery's record is the answer.
    if (isUniqueViolation(err)) {
      const other = await earlier();
      if (other) return { mail: other, redelivered: true };
    }
    throw err;
  }
}
