// Email in: real messages over SMTP (nodemailer → the inbound listener on a free port → the test
// database), what each kind of message becomes, and the staff's quarantine pages over HTTP.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import nodemailer from 'nodemailer';
import type Mail from 'nodemailer/lib/mailer/index.js';
import type TestAgent from 'supertest/lib/agent.js';
import { countRows, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { as, buildTicket, buildUser } from '../helpers/factories.js';
import request from 'supertest';
import { confirmLink, expectRefused, signIn, testApp } from '../helpers/http.js';
import { issueAccessToken } from '../../src/services/public/access-links.js';
import type { Actor } from '../../src/services/context.js';
import { MessageIds } from '../../src/mail/message-id.js';
import { startInboundSmtp, type InboundSmtp } from '../../src/mail/inbound-smtp.js';
import { REPLY_ABOVE } from '../../src/mail/render.js';
import { resolveTicket } from '../../src/services/tickets/resolve-ticket.js';
import { changeStatus } from '../../src/services/tickets/change-status.js';

const OWN = 'Caseboard Support <support@caseboard.test>';
const SUPPORT = 'support@caseboard.test';
const MAX_BYTES = 64 * 1024;
const MAX_NEW_PER_HOUR = 3;

let db: TestDatabase;
let ids: MessageIds;
let smtp: InboundSmtp;
let app: Express;
let tech: Actor;
let agent: TestAgent;
let csrf: string;

const config = (port = 0) => ({
  INBOUND_SMTP_PORT: port,
  INBOUND_SMTP_HOST: '127.0.0.1',
  INBOUND_MAX_BYTES: MAX_BYTES,
  INBOUND_MAX_NEW_PER_HOUR: MAX_NEW_PER_HOUR,
  MAIL_FROM: OWN,
});

beforeAll(async () => {
  db = await createTestDatabase();
  ids = new MessageIds('a-test-secret-that-is-long-enough-1234', 'caseboard.test');
  smtp = await startInboundSmtp({ db, ids, config: config() });
  app = testApp(db);
  tech = await buildUser(db, { name: 'Tess Triage' });
  ({ agent, csrf } = await signIn(app, tech.email));
});
afterAll(async () => {
  await smtp?.stop();
  await db?.close();
});

let counter = 0;
const unique = () => `${Date.now().toString(36)}${(counter++).toString(36)}${randomBytes(2).toString('hex')}`;
const address = (who: string) => `${who}-${unique()}@customer.test`;

/** Sends one message to the listener, the way an MTA hands it over. */
async function send(message: Mail.Options, port = smtp.port) {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  try {
    return await transport.sendMail({ to: SUPPORT, ...message });
  } finally {
    transport.close();
  }
}

/** Sends and expects the listener to refuse it: the SMTP reply code and text. */
async function refused(message: Mail.Options, port = smtp.port): Promise<{ responseCode?: number; response?: string }> {
  try {
    await send(message, port);
  } catch (err) {
    return err as { responseCode?: number; response?: string };
  }
  throw new Error('the message was accepted');
}

const inbound = (where: { fromAddress?: string; messageId?: string }) =>
  db.prisma.inboundMail.findMany({ where, orderBy: { id: 'asc' } });

/** A ticket of the customer `email`, logged by a technician (as from a phone call). */
const ticketOf = (email: string, name = 'Dana Customer') => buildTicket(db, tech, { customer: { name, email } });

/** The difference in row counts, table by table (only the tables that changed). */
async function changesDuring(run: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = await countRows(db);
  await run();
  const after = await countRows(db);
  return Object.fromEntries(Object.keys(after).filter((t) => after[t] !== before[t]).map((t) => [t, after[t]! - before[t]!]));
}

describe('a new message', () => {
  it('the sender sees what they wrote as "What you reported" through the private link', async () => {
    const from = address('reported');
    await send({ from: { name: 'Rex Reporter', address: from }, subject: 'VPN drops every hour', text: 'The VPN drops every hour on the hour.\n' });
    const [mail] = await inbound({ fromAddress: from });
    const token = await issueAccessToken(db.pool, mail!.ticketId!, null, 30);
    const page = await confirmLink(request.agent(app), token);
    const at = page.text.indexOf('<h2 id="reported-h">What you reported</h2>');
    expect(at).toBeGreaterThan(0);
    expect(page.text.slice(at, page.text.indexOf('</section>', at))).toContain('The VPN drops every hour on the hour.');
  });

  it('opens an EMAIL ticket with the sender as its customer, and queues the "ticket created" mail', async () => {
    const from = address('new');
    const changed = await changesDuring(() =>
      send({
        from: { name: 'Nina Newcomer', address: from.toUpperCase() },
        subject: 'Printer prints only blank pages',
        text: 'Hello,\n\nsince this morning every job comes out blank.\n\nNina\n',
      }),
    );
    expect(changed).toEqual({ Customer: 1, Ticket: 1, TicketHistory: 1, OutboundMail: 1, InboundMail: 1 });

    const [mail] = await inbound({ fromAddress: from });
    expect(mail).toMatchObject({ state: 'NEW_TICKET', fromName: 'Nina Newcomer', subject: 'Printer prints only blank pages' });
    const ticket = await db.prisma.ticket.findUniqueOrThrow({ where: { id: mail!.ticketId! }, include: { customer: true } });
    expect(ticket).toMatchObject({
      channel: 'EMAIL',
      urgency: 'NORMAL',
      status: 'NEW',
      createdById: null,
      title: 'Printer prints only blank pages',
      description: 'Hello,\n\nsince this morning every job comes out blank.\n\nNina',
    });
    expect(ticket.customer).toMatchObject({ email: from, name: 'Nina Newcomer' });
    const created = await db.prisma.ticketHistory.findFirstOrThrow({ where: { ticketId: ticket.id } });
    expect(created).toMatchObject({ action: 'CREATED', actorId: null, actorCustomerId: ticket.customerId });
    const outbound = await db.prisma.outboundMail.findMany({ where: { ticketId: ticket.id } });
    expect(outbound).toMatchObject([{ kind: 'TICKET_CREATED', recipient: from, state: 'QUEUED' }]);
  });

  it('in HTML only becomes text; its attachment is kept on the ticket with its bytes', async () => {
    const from = address('html');
    await send({
      from,
      subject: 'Screenshot of the error',
      html: '<p>The app shows <b>Error 42</b> at start.</p><p>See the screenshot.</p>',
      attachments: [{ filename: 'error.png', content: Buffer.from('not really a png') }],
    });
    const [mail] = await inbound({ fromAddress: from });
    const ticket = await db.prisma.ticket.findUniqueOrThrow({ where: { id: mail!.ticketId! } });
    expect(ticket.description).toContain('The app shows Error 42 at start.');
    expect(ticket.description).not.toContain('<b>');
    expect(ticket.description).not.toContain('Attachments not kept');
    expect(mail!.body).toBe(ticket.description);
    const file = await db.prisma.attachment.findFirstOrThrow({ where: { ticketId: ticket.id }, include: { content: true } });
    expect(file).toMatchObject({ fileName: 'error.png', mediaType: 'text/plain', workLogEntryId: null, inboundMailId: mail!.id });
    expect(Buffer.from(file.content!.bytes).toString()).toBe('not really a png');
  });

  it('without subject or text still makes a ticket that says so', async () => {
    const from = address('blank');
    await send({ from, subject: '', text: '' });
    const [mail] = await inbound({ fromAddress: from });
    const ticket = await db.prisma.ticket.findUniqueOrThrow({ where: { id: mail!.ticketId! } });
    expect(ticket).toMatchObject({ title: '(no subject)', description: '(empty message)' });
  });
});

describe('a reply', () => {
  it('with a signed Message-ID and an edited subject lands on its ticket, trimmed, and reopens it', async () => {
    const email = address('dana');
    const ticket = await ticketOf(email);
    const resolved = await resolveTicket(as(db, tech), { reference: ticket.reference, version: ticket.version }, {
      code: 'FIXED',
      note: 'Replaced the toner.',
    });
    expect(resolved.status).toBe('RESOLVED');
    const customerId = ticket.customerId;

    const changed = await changesDuring(() =>
      send({
        from: { name: 'Dana', address: email.replace('dana', 'DANA') },
        subject: 'It is back (was: something else entirely)',
        inReplyTo: ids.forMail(ticket.id, 42),
        references: [ids.threadRoot(ticket.id), ids.forMail(ticket.id, 42)],
        text: [
          'The blank pages are back since the update.',
          '',
          'On Tue, 3 Mar 2026 at 10:00, Caseboard Support <support@caseboard.test> wrote:',
          `> ${REPLY_ABOVE}`,
          '>',
          '> Hello Dana,',
          '> Your request has been resolved.',
        ].join('\n'),
      }),
    );
    // A reply: the entry, its history row and the status change; no mail goes out for it.
    expect(changed).toEqual({ WorkLogEntry: 1, TicketHistory: 2, InboundMail: 1 });

    const after = await db.prisma.ticket.findUniqueOrThrow({ where: { id: ticket.id }, include: { workLog: true } });
    expect(after.status).toBe('OPEN');
    expect(after.workLog).toMatchObject([
      { kind: 'CUSTOMER_REPLY', authorId: null, authorCustomerId: customerId, body: 'The blank pages are back since the update.' },
    ]);
    const history = await db.prisma.ticketHistory.findMany({ where: { ticketId: ticket.id }, orderBy: { id: 'asc' } });
    expect(history.slice(-2)).toMatchObject([
      { action: 'CHANGED', field: 'status', oldValue: 'RESOLVED', newValue: 'OPEN', actorId: null, actorCustomerId: customerId },
      { action: 'WORKLOG_ADDED', field: 'CUSTOMER_REPLY', actorId: null, actorCustomerId: customerId },
    ]);
    const [mail] = await inbound({ fromAddress: email });
    expect(mail).toMatchObject({ state: 'ADDED', ticketId: ticket.id, body: 'The blank pages are back since the update.' });
    expect(mail!.reason).toContain('Message-ID');
  });

  it('is cut at the "reply above this line" marker and matched by the subject tag', async () => {
    const email = address('marker');
    const ticket = await ticketOf(email);
    await send({
      from: email,
      subject: `Re: [${ticket.reference.toLowerCase()}] Your request was received`,
      text: `Thanks, here is the log you asked for.\n\n${REPLY_ABOVE}\n\nHello,\nWe have logged your request.\n`,
    });
    const entries = await db.prisma.workLogEntry.findMany({ where: { ticketId: ticket.id } });
    expect(entries.map((e) => [e.kind, e.body])).toEqual([['CUSTOMER_REPLY', 'Thanks, here is the log you asked for.']]);
  });

  it('from a stranger quoting the ticket tag is quarantined, not added', async () => {
    const email = address('owner');
    const ticket = await ticketOf(email, 'Olga Owner');
    const stranger = address('stranger');
    const changed = await changesDuring(() =>
      send({ from: stranger, subject: `Re: [${ticket.reference}] Your request was received`, text: 'Please send me her invoices.' }),
    );
    expect(changed).toEqual({ InboundMail: 1 });
    const [mail] = await inbound({ fromAddress: stranger });
    expect(mail).toMatchObject({ state: 'QUARANTINED', matchedTicketId: ticket.id, ticketId: null });
    expect(mail!.reason).toContain(`Matched ${ticket.reference} by the [CB-…] tag in the subject`);
    expect(mail!.reason).toContain(`not its customer (Olga Owner <${email}>)`);
    expect(await db.prisma.workLogEntry.count({ where: { ticketId: ticket.id } })).toBe(0);
  });

  it('from a stranger with a genuine signed Message-ID is quarantined too, saying so', async () => {
    const ticket = await ticketOf(address('owner2'));
    const stranger = address('forwarded');
    await send({ from: stranger, subject: 'Fwd: whatever', inReplyTo: ids.forMail(ticket.id, 3), text: 'I got this mail.' });
    const [mail] = await inbound({ fromAddress: stranger });
    expect(mail).toMatchObject({ state: 'QUARANTINED', matchedTicketId: ticket.id });
    expect(mail!.reason).toContain('by a Caseboard Message-ID in In-Reply-To/References');
  });

  it('with a forged Message-ID is no match: it opens a new ticket instead', async () => {
    const email = address('forger');
    const target = await ticketOf(address('victim'));
    const forged = `<cb.${target.id}.7.${'A'.repeat(22)}@caseboard.test>`;
    const signedForAnother = ids.forMail(target.id, 7).replace(`cb.${target.id}.`, `cb.${target.id + 1}.`);
    await send({ from: email, subject: 'Re: your ticket', inReplyTo: forged, references: [forged, signedForAnother], text: 'Let me in.' });
    const [mail] = await inbound({ fromAddress: email });
    expect(mail).toMatchObject({ state: 'NEW_TICKET', matchedTicketId: null });
    expect(mail!.ticketId).not.toBe(target.id);
    expect(await db.prisma.workLogEntry.count({ where: { ticketId: target.id } })).toBe(0);
  });

  it('naming several tickets is quarantined as ambiguous, listing them', async () => {
    const email = address('both');
    const first = await ticketOf(email);
    const second = await ticketOf(email);
    await send({
      from: email,
      subject: 'Re: two things',
      inReplyTo: ids.forMail(first.id, 1),
      references: [ids.forMail(second.id, 2)],
      text: 'About both.',
    });
    await send({ from: email, subject: `[${first.reference}] and [${second.reference}]`, text: 'Both again.' });
    const mails = await inbound({ fromAddress: email });
    expect(mails.map((m) => m.state)).toEqual(['QUARANTINED', 'QUARANTINED']);
    for (const m of mails) {
      expect(m.reason).toContain('Ambiguous');
      expect(m.reason).toContain(first.reference);
      expect(m.reason).toContain(second.reference);
    }
    expect(await db.prisma.workLogEntry.count({ where: { ticketId: { in: [first.id, second.id] } } })).toBe(0);
  });

  it('to a closed ticket is quarantined', async () => {
    const email = address('closed');
    const ticket = await ticketOf(email);
    const resolved = await resolveTicket(as(db, tech), { reference: ticket.reference, version: ticket.version }, { code: 'FIXED', note: 'Done.' });
    await changeStatus(as(db, tech), { reference: ticket.reference, version: resolved.version }, 'CLOSED');
    await send({ from: email, subject: `Re: [${ticket.reference}]`, inReplyTo: ids.forMail(ticket.id, 9), text: 'One more thing.' });
    const [mail] = await inbound({ fromAddress: email });
    expect(mail).toMatchObject({ state: 'QUARANTINED', matchedTicketId: ticket.id });
    expect(mail!.reason).toContain('closed');
  });
});

describe('automatic mail', () => {
  const variants: [string, (from: string) => Mail.Options, string][] = [
    ['Auto-Submitted: auto-replied', (from) => ({ from, headers: { 'Auto-Submitted': 'auto-replied' } }), 'Auto-Submitted: auto-replied'],
    ['Precedence: bulk', (from) => ({ from, headers: { Precedence: 'bulk' } }), 'Precedence: bulk'],
    ['X-Autoreply', (from) => ({ from, headers: { 'X-Autoreply': 'yes' } }), 'X-Autoreply'],
    // (X-Auto-Response-Suppress is no sign: Outlook sets it on ordinary mail; see mail-automatic.test.ts.)
    ['an empty envelope sender', (from) => ({ from, envelope: { from: '', to: [SUPPORT] } }), 'envelope sender (MAIL FROM) is empty'],
    ['MAILER-DAEMON', () => ({ from: `MAILER-DAEMON@${unique()}.test` }), 'Bounce: sent by mailer-daemon@'],
    ["Caseboard's own address", () => ({ from: OWN }), "Caseboard's own address support@caseboard.test"],
  ];
  for (const [what, message, reason] of variants) {
    it(`(${what}) is recorded as IGNORED and nothing else`, async () => {
      const from = address('robot');
      const options = message(from);
      const changed = await changesDuring(() => send({ subject: 'Automatic reply: out of office', text: 'I am away.', ...options }));
      expect(changed).toEqual({ InboundMail: 1 });
      const [mail] = await db.prisma.inboundMail.findMany({ orderBy: { id: 'desc' }, take: 1 });
      expect(mail).toMatchObject({ state: 'IGNORED', ticketId: null, matchedTicketId: null });
      expect(mail!.reason).toContain(reason);
    });
  }

  it('a delivery report (multipart/report) is ignored', async () => {
    const raw = [
      'From: Mail Delivery System <bounces@mx.example.test>',
      `To: ${SUPPORT}`,
      'Subject: Undelivered Mail Returned to Sender',
      `Message-ID: <${unique()}@mx.example.test>`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"',
      '',
      '--b1',
      'Content-Type: text/plain',
      '',
      'Your message could not be delivered.',
      '--b1',
      'Content-Type: message/delivery-status',
      '',
      'Status: 5.1.1',
      '--b1--',
      '',
    ].join('\r\n');
    const changed = await changesDuring(() => send({ envelope: { from: 'bounces@mx.example.test', to: [SUPPORT] }, raw }));
    expect(changed).toEqual({ InboundMail: 1 });
    const [mail] = await db.prisma.inboundMail.findMany({ orderBy: { id: 'desc' }, take: 1 });
    expect(mail).toMatchObject({ state: 'IGNORED' });
    expect(mail!.reason).toContain('multipart/report');
  });

  it('cannot start a mail loop: auto-replies to our "ticket created" mail make no tickets and no mail', async () => {
    const email = address('vacation');
    await send({ from: email, subject: 'VPN is down', text: 'It drops every ten minutes.' });
    const [first] = await inbound({ fromAddress: email });
    const ticket = await db.prisma.ticket.findUniqueOrThrow({ where: { id: first!.ticketId! } });
    const created = await db.prisma.outboundMail.findFirstOrThrow({ where: { ticketId: ticket.id } });

    const changed = await changesDuring(async () => {
      for (let i = 0; i < 5; i++) {
        await send({
          from: email,
          subject: `Automatic reply: [${ticket.reference}] Your request was received: VPN is down`,
          inReplyTo: ids.forMail(ticket.id, created.id),
          references: [ids.threadRoot(ticket.id), ids.forMail(ticket.id, created.id)],
          headers: { 'Auto-Submitted': 'auto-replied', 'X-Autoreply': 'yes' },
          text: 'I am out of the office until Monday.',
        });
      }
      // Our own mail coming back (a forwarding rule pointing at us) is not taken either.
      await send({ from: OWN, subject: `[${ticket.reference}] Your request was received: VPN is down`, text: 'We have logged your request.' });
    });
    expect(changed).toEqual({ InboundMail: 6 });
    expect((await inbound({ fromAddress: email })).map((m) => m.state)).toEqual(['NEW_TICKET', 'IGNORED', 'IGNORED', 'IGNORED', 'IGNORED', 'IGNORED']);
  });
});

describe('limits', () => {
  it(`holds new tickets past ${MAX_NEW_PER_HOUR} an hour from one address in quarantine`, async () => {
    const email = address('flood');
    const changed = await changesDuring(async () => {
      for (let i = 1; i <= MAX_NEW_PER_HOUR + 2; i++) await send({ from: email, subject: `Problem number ${i}`, text: `Number ${i}.` });
    });
    expect(changed).toMatchObject({ Ticket: MAX_NEW_PER_HOUR, OutboundMail: MAX_NEW_PER_HOUR, InboundMail: MAX_NEW_PER_HOUR + 2 });
    const mails = await inbound({ fromAddress: email });
    expect(mails.map((m) => m.state)).toEqual([...Array(MAX_NEW_PER_HOUR).fill('NEW_TICKET'), 'QUARANTINED', 'QUARANTINED']);
    expect(mails.at(-1)!.reason).toContain('Too many new tickets from this address');
    // Replies to the tickets it opened still go through.
    await send({ from: email, subject: 'Re: Problem number 1', inReplyTo: ids.forMail(mails[0]!.ticketId!, 1), text: 'More detail.' });
    expect((await inbound({ fromAddress: email })).at(-1)!.state).toBe('ADDED');
  });

  it('refuses an oversized message with 552 and writes nothing', async () => {
    const before = await countRows(db);
    const err = await refused({ from: address('big'), subject: 'Huge', text: 'x'.repeat(MAX_BYTES + 10_000) });
    expect(err.responseCode).toBe(552);
    expect(err.response).toContain(`at most ${MAX_BYTES} bytes`);
    expect(await countRows(db)).toEqual(before);
  });

  it('records mail without a usable From address as IGNORED (not a 550), and keeps taking mail', async () => {
    const before = await countRows(db);
    const envelope = { from: 'someone@customer.test', to: [SUPPORT] };
    await send({ envelope, raw: randomBytes(2048) });
    await send({ envelope, raw: `To: ${SUPPORT}\r\nSubject: who am I\r\n\r\nNo From header.\r\n` });
    await send({ envelope, raw: `From: not an address\r\nTo: ${SUPPORT}\r\nSubject: x\r\n\r\nHi\r\n` });
    const after = await countRows(db);
    expect({ ...after, InboundMail: after.InboundMail! - 3 }).toEqual(before);
    const three = await db.prisma.inboundMail.findMany({ orderBy: { id: 'desc' }, take: 3 });
    for (const m of three) {
      expect(m).toMatchObject({ state: 'IGNORED', fromAddress: '', ticketId: null });
      expect(m.reason).toContain('No usable From address');
    }

    // NUL characters (which PostgreSQL text cannot hold) are dropped, not a reason to fail forever.
    const nul = address('nul');
    await send({
      envelope: { from: nul, to: [SUPPORT] },
      raw: `From: =?utf-8?q?N=00ul?= <${nul}>\r\nTo: ${SUPPORT}\r\nSubject: =?utf-8?q?A=00B?=\r\n\r\nbefore\u0000after\r\n`,
    });
    const [withNul] = await inbound({ fromAddress: nul });
    expect(withNul).toMatchObject({ state: 'NEW_TICKET', fromName: 'Nul', subject: 'AB', body: 'beforeafter' });

    const email = address('after-garbage');
    await send({ from: email, subject: 'Still there?', text: 'Yes.' });
    expect((await inbound({ fromAddress: email })).map((m) => m.state)).toEqual(['NEW_TICKET']);
  });

  it('answers 451 when it cannot store a message, and takes the next one', async () => {
    let broken = true;
    const failing = new Proxy(db.prisma, {
      get(target, prop) {
        if (broken) throw new Error('database unavailable (test)');
        const value = Reflect.get(target, prop, target) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const other = await startInboundSmtp({ db: { ...db, prisma: failing }, ids, config: config() });
    try {
      const email = address('retry');
      const message = { from: email, subject: 'Try again', text: 'Second time lucky.', messageId: `<${unique()}@customer.test>` };
      const before = await countRows(db);
      const err = await refused(message, other.port);
      expect(err.responseCode).toBe(451);
      expect(await countRows(db)).toEqual(before);
      broken = false;
      await send(message, other.port); // the MTA's retry
      expect((await inbound({ fromAddress: email })).map((m) => m.state)).toEqual(['NEW_TICKET']);
    } finally {
      await other.stop();
    }
  });

  it('takes a redelivered message (same Message-ID) once', async () => {
    const email = address('twice');
    const messageId = `<${unique()}@customer.test>`;
    await send({ from: email, subject: 'Sent twice', text: 'Once is enough.', messageId });
    const changed = await changesDuring(() => send({ from: email, subject: 'Sent twice', text: 'Once is enough.', messageId }));
    expect(changed).toEqual({});
    expect(await inbound({ messageId })).toHaveLength(1);
  });

  it('trims a hostile reply in bounded time (quote trimming cannot stall the process)', async () => {
    const email = address('redos');
    const started = Date.now();
    await send({ from: email, subject: 'Slow', text: 'Op x schreef y\n'.repeat(3000) });
    expect(Date.now() - started).toBeLessThan(10_000);
    const [mail] = await inbound({ fromAddress: email });
    expect(mail!.state).toBe('NEW_TICKET');
    expect(mail!.body).toContain('Op x schreef y');
  });
});

describe('the quarantine, for staff', () => {
  /** A quarantined message: a stranger writing about someone else's ticket. */
  async function quarantined(ticketEmail = address('qowner')) {
    const ticket = await ticketOf(ticketEmail, 'Quinn Owner');
    const stranger = address('qstranger');
    await send({ from: { name: 'Sam Stranger', address: stranger }, subject: `Re: [${ticket.reference}] help`, text: 'I work with Quinn: it is broken for me too.' });
    const [mail] = await inbound({ fromAddress: stranger });
    expect(mail!.state).toBe('QUARANTINED');
    return { ticket, mail: mail!, stranger };
  }
  const post = (id: number, action: string, body: Record<string, string> = {}) =>
    agent.post(`/mail/quarantine/${id}/${action}`).type('form').send({ _csrf: csrf, ...body });

  it('lists what is held, with the reason, the matched ticket and the text', async () => {
    const { ticket, mail } = await quarantined();
    const page = await agent.get('/mail/quarantine').expect(200);
    for (const text of ['Mail quarantine', 'Sam Stranger', `Re: [${ticket.reference}] help`, 'not its customer', `href="/tickets/${ticket.reference}"`, 'I work with Quinn', `/mail/quarantine/${mail.id}/attach`]) {
      expect(page.text).toContain(text);
    }
    expect(page.text).toContain('href="/mail/quarantine"'); // the nav link
  });

  it("attaches a stranger's mail as a note by the staff member, with a history row", async () => {
    const { ticket, mail, stranger } = await quarantined();
    const res = await post(mail.id, 'attach', { reference: ticket.reference.toLowerCase() }).expect(303);
    expect(res.headers.location).toBe(`/tickets/${ticket.reference}#worklog`);
    const entries = await db.prisma.workLogEntry.findMany({ where: { ticketId: ticket.id } });
    expect(entries).toMatchObject([{ kind: 'NOTE', authorId: tech.id, authorCustomerId: null }]);
    expect(entries[0]!.body).toContain(`Mail from Sam Stranger <${stranger}>`);
    expect(entries[0]!.body).toContain('I work with Quinn: it is broken for me too.');
    const last = await db.prisma.ticketHistory.findFirstOrThrow({ where: { ticketId: ticket.id }, orderBy: { id: 'desc' } });
    expect(last).toMatchObject({ action: 'MAIL_ATTACHED', newValue: stranger, actorId: tech.id, newRefId: mail.id });
    const decided = await db.prisma.inboundMail.findUniqueOrThrow({ where: { id: mail.id } });
    expect(decided).toMatchObject({ state: 'ATTACHED', ticketId: ticket.id, decidedById: tech.id });
    expect(decided.decidedAt).toBeInstanceOf(Date);

    // Deciding again is refused, with what became of it, and changes nothing.
    for (const [action, body] of [['attach', { reference: ticket.reference }], ['new-ticket', {}], ['discard', {}]] as const) {
      await expectRefused(db, () => post(mail.id, action, body), 422, 'already attached to', ticket.reference, 'Tess Triage');
    }
  });

  it("attaches the customer's own mail as their reply", async () => {
    const email = address('own');
    const closed = await ticketOf(email);
    const resolved = await resolveTicket(as(db, tech), { reference: closed.reference, version: closed.version }, { code: 'FIXED', note: 'Done.' });
    await changeStatus(as(db, tech), { reference: closed.reference, version: resolved.version }, 'CLOSED');
    await send({ from: email, subject: `Re: [${closed.reference}]`, text: 'It broke again.' });
    const [mail] = await inbound({ fromAddress: email });
    expect(mail!.state).toBe('QUARANTINED');

    // Not to the closed ticket…
    await expectRefused(db, () => post(mail!.id, 'attach', { reference: closed.reference }), 422, 'closed');
    // …nor to one that does not exist, nor without a reference…
    await expectRefused(db, () => post(mail!.id, 'attach', { reference: 'CB-0000000' }), 422, 'No ticket has the reference CB-0000000');
    await expectRefused(db, () => post(mail!.id, 'attach', { reference: '' }), 422, 'ticket reference');
    // …but to the customer's open one.
    const open = await ticketOf(email);
    await post(mail!.id, 'attach', { reference: open.reference }).expect(303);
    const entries = await db.prisma.workLogEntry.findMany({ where: { ticketId: open.id } });
    expect(entries).toMatchObject([{ kind: 'CUSTOMER_REPLY', authorId: null, authorCustomerId: open.customerId, body: 'It broke again.' }]);
    expect(await db.prisma.inboundMail.findUniqueOrThrow({ where: { id: mail!.id } })).toMatchObject({ state: 'ATTACHED', ticketId: open.id });
  });

  it('turns a message into a new ticket for its sender', async () => {
    const { mail, stranger } = await quarantined();
    const changed = await changesDuring(() => post(mail.id, 'new-ticket').expect(303));
    expect(changed).toEqual({ Customer: 1, Ticket: 1, TicketHistory: 2, OutboundMail: 1 });
    const decided = await db.prisma.inboundMail.findUniqueOrThrow({ where: { id: mail.id }, include: { ticket: { include: { customer: true } } } });
    expect(decided).toMatchObject({ state: 'TURNED_INTO_TICKET', decidedById: tech.id });
    expect(decided.ticket).toMatchObject({ channel: 'EMAIL', createdById: null, title: mail.subject, description: mail.body });
    expect(decided.ticket!.customer).toMatchObject({ email: stranger, name: 'Sam Stranger' });
    await expectRefused(db, () => post(mail.id, 'discard'), 422, 'already turned into ticket', decided.ticket!.reference);
  });

  it('discards a message, once', async () => {
    const { mail } = await quarantined();
    const changed = await changesDuring(() => post(mail.id, 'discard').expect(303));
    expect(changed).toEqual({});
    expect(await db.prisma.inboundMail.findUniqueOrThrow({ where: { id: mail.id } })).toMatchObject({ state: 'DISCARDED', decidedById: tech.id });
    const page = await agent.get('/mail/quarantine?discarded=' + mail.id).expect(200);
    expect(page.text).toContain(`Message #${mail.id} was discarded.`);
    expect(page.text).not.toContain(`/mail/quarantine/${mail.id}/attach`);
    await expectRefused(db, () => post(mail.id, 'discard'), 422, 'already discarded');
  });

  it('refuses decisions on messages that were never quarantined, or do not exist', async () => {
    const email = address('taken');
    await send({ from: email, subject: 'Fine', text: 'Taken at once.' });
    const [mail] = await inbound({ fromAddress: email });
    await expectRefused(db, () => post(mail!.id, 'discard'), 422, 'opened');
    await expectRefused(db, () => post(2_000_000_000, 'discard'), 404);
    await expectRefused(db, () => post(mail!.id, 'discard', { _csrf: 'forged' }), 403);
  });
});
