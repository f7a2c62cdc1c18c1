// The queue's orders (urgency, last update, age, waiting for us since) with keyset pages across
// ties, "waiting for us since" on every path that sets or clears it, and the unread marks
// ("Updated", "New reply") against the user's last visit of the ticket page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import request from 'supertest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { as, buildTicket, buildUser } from '../helpers/factories.js';
import { confirmLink, signIn, testApp } from '../helpers/http.js';
import { sendRaw, startTestInbound } from '../helpers/inbound.js';
import type { Actor } from '../../src/services/context.js';
import { ACTIVE_STATUSES } from '../../src/domain/status.js';
import { URGENCIES, type TicketStatus, type Urgency } from '../../src/domain/enums.js';
import { listQueue, QUEUE_PAGE_SIZE, type QueueCursor, type QueueSort } from '../../src/services/tickets/queue.js';
import { addWorkLog } from '../../src/services/tickets/add-work-log.js';
import { changeStatus } from '../../src/services/tickets/change-status.js';
import { resolveTicket } from '../../src/services/tickets/resolve-ticket.js';
import { reopenTicket } from '../../src/services/tickets/reopen-ticket.js';
import { addCustomerReply } from '../../src/services/public/customer-ticket.js';
import { submitWebRequest } from '../../src/services/public/web-request.js';
import { issueAccessToken } from '../../src/services/public/access-links.js';
import { attachToTicket } from '../../src/services/mail/quarantine.js';
import { getTicketView } from '../../src/services/tickets/ticket-view.js';
import { changeUrgency } from '../../src/services/tickets/change-urgency.js';

let db: TestDatabase;
let app: Express;
let tech: Actor;
let owner: Actor;

beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db);
  tech = await buildUser(db, { name: 'Sort Tech' });
  owner = await buildUser(db, { name: 'Sort Owner' });
});
afterAll(() => db?.close());

const awaitingOf = async (reference: string) =>
  (await db.prisma.ticket.findUniqueOrThrow({ where: { reference }, select: { awaitingSince: true } })).awaitingSince;

describe('sorting the queue', () => {
  const STATES: TicketStatus[] = ['NEW', 'OPEN', 'IN_PROGRESS', 'WAITING_ON_CUSTOMER'];
  const base = Date.UTC(2026, 10, 1);
  let ids: number[] = [];

  beforeAll(async () => {
    // 130 tickets of one owner (nearly three pages), with many ties in every sort's first column.
    for (let i = 0; i < 130; i++) {
      const t = await buildTicket(db, tech, { urgency: URGENCIES[i % 5] as Urgency, title: `Sorted ${i}` });
      ids.push(t.id);
      const status = STATES[i % 4]!;
      await db.prisma.ticket.update({
        where: { id: t.id },
        data: {
          assigneeId: owner.id,
          status,
          createdAt: new Date(base + (i % 7) * 3_600_000),
          updatedAt: new Date(base + (i % 6) * 60_000),
          // Nothing waits for us on a ticket waiting on the customer; others share 4 times.
          awaitingSince: status === 'WAITING_ON_CUSTOMER' ? null : new Date(base + (i % 4) * 1000),
          // SLA due times with ties, and none on every third ticket (no running clock).
          slaDueAt: i % 3 === 0 ? null : new Date(base + (i % 5) * 1000),
        },
      });
    }
  });

  /** Every page of the owner's queue in the sort, following each page's cursor. */
  async function walk(sort: QueueSort, statuses: readonly TicketStatus[] = ACTIVE_STATUSES) {
    const seen: number[] = [];
    let after: QueueCursor | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await listQueue(as(db, tech), { statuses, assignee: owner.id, sort, after });
      expect(page.rows.length).toBeLessThanOrEqual(QUEUE_PAGE_SIZE);
      seen.push(...page.rows.map((r) => r.id));
      if (!page.next) return seen;
      after = page.next;
    }
    throw new Error('too many pages');
  }

  async function expected(sort: QueueSort): Promise<number[]> {
    const rows = await db.prisma.ticket.findMany({ where: { assigneeId: owner.id } });
    const rank = (u: Urgency) => URGENCIES.indexOf(u);
    const cmp: Record<QueueSort, (a: (typeof rows)[0], b: (typeof rows)[0]) => number> = {
      urgency: (a, b) => rank(a.urgency) - rank(b.urgency) || +a.createdAt - +b.createdAt || a.id - b.id,
      updated: (a, b) => +b.updatedAt - +a.updatedAt || b.id - a.id,
      age: (a, b) => +a.createdAt - +b.createdAt || a.id - b.id,
      waiting: (a, b) =>
        (a.awaitingSince === null ? 1 : 0) - (b.awaitingSince === null ? 1 : 0) ||
        (a.awaitingSince && b.awaitingSince ? +a.awaitingSince - +b.awaitingSince : 0) ||
        a.id - b.id,
      due: (a, b) =>
        (a.slaDueAt === null ? 1 : 0) - (b.slaDueAt === null ? 1 : 0) ||
        (a.slaDueAt && b.slaDueAt ? +a.slaDueAt - +b.slaDueAt : 0) ||
        a.id - b.id,
    };
    return rows.sort(cmp[sort]).map((r) => r.id);
  }

  for (const sort of ['urgency', 'updated', 'age', 'waiting', 'due'] as const) {
    it(`${sort}: every ticket once, in order, across pages with ties`, async () => {
      const got = await walk(sort);
      expect(got).toHaveLength(130);
      expect(got).toEqual(await expected(sort));
    });
  }

  it('waiting: a page that starts among the tickets nothing waits for us on goes on by id', async () => {
    const got = await walk('waiting', ['WAITING_ON_CUSTOMER']);
    expect(got).toEqual([...got].sort((a, b) => a - b));
    expect(got).toHaveLength(32); // i % 4 === 3 of 130
    const nulls = await listQueue(as(db, tech), {
      statuses: ACTIVE_STATUSES, assignee: owner.id, sort: 'waiting', after: { sort: 'waiting', awaitingSince: null, id: 0 },
    });
    expect(nulls.rows.every((r) => r.awaitingSince === null)).toBe(true);
    expect(nulls.rows.length).toBeGreaterThan(0);
  });

  it('a text search shows its matches in the chosen order (by rank for the default)', async () => {
    const got = await listQueue(as(db, tech), { statuses: ACTIVE_STATUSES, assignee: owner.id, text: 'Sorted', sort: 'age' });
    expect(got.rows.map((r) => r.id)).toEqual((await expected('age')).slice(0, QUEUE_PAGE_SIZE));
  });

  it('follows the page links over HTTP, and refuses a cursor of another sort (400, the default queue)', async () => {
    const { agent } = await signIn(app, tech.email);
    const refs: string[] = [];
    let url: string | null = `/tickets?assignee=${owner.id}&sort=waiting`;
    while (url) {
      const html: string = (await agent.get(url).expect(200)).text;
      refs.push(...[...html.matchAll(/<a class="ref" href="\/tickets\/(CB-[0-9A-Z]{7})"/g)].map((m) => m[1]!));
      const next: string | undefined = /<a class="button secondary" href="([^"]+)" rel="next">/.exec(html)?.[1];
      url = next ? next.replace(/&amp;/g, '&') : null;
    }
    const byRef = new Map((await db.prisma.ticket.findMany({ where: { assigneeId: owner.id } })).map((t) => [t.reference, t.id]));
    expect(refs.map((r) => byRef.get(r))).toEqual(await expected('waiting'));
    // The sort's select and the column headers link to each sort.
    const page = await agent.get(`/tickets?sort=updated`).expect(200);
    expect(page.text).toMatch(/<option value="updated" selected>/);
    expect(page.text).toContain('href="/tickets?sort=waiting"');
    for (const bad of ['sort=updated&after=CRITICAL.1700000000000.5', 'sort=urgency&after=1700000000000.5', 'sort=age&after=N.5', 'sort=sideways']) {
      const res = await agent.get(`/tickets?${bad}`);
      expect(res.status, bad).toBe(400);
      expect(res.text).toContain('Showing the default queue instead.');
    }
  });
});

describe('waiting for us since', () => {
  it('is set when a ticket is created (by staff, on the web form, by mail)', async () => {
    const t = await buildTicket(db, tech);
    expect(await awaitingOf(t.reference)).toEqual(t.createdAt);
    const web = await submitWebRequest(db.prisma, { name: 'Web Person', email: 'web-person@customer.test', title: 'Cannot print', description: 'Blank pages.' });
    expect(await awaitingOf(web.reference)).toEqual(web.createdAt);
    const smtp = await startTestInbound(db);
    try {
      await sendRaw(smtp, { from: 'maria@customer.test', to: ['support@caseboard.test'] }, [
        'From: Maria Person <maria@customer.test>', 'To: support@caseboard.test', 'Subject: VPN drops every hour',
        `Message-ID: <vpn-${Date.now()}@mua.test>`, 'Date: Mon, 7 Dec 2026 09:00:00 +0000', '', 'It drops at the hour.', '',
      ].join('\r\n'));
      const mailed = await db.prisma.ticket.findFirstOrThrow({ where: { title: 'VPN drops every hour' } });
      expect(mailed.awaitingSince).toEqual(mailed.createdAt);
      // A customer's reply by mail (the subject tag, from the ticket's customer) keeps the first time.
      await db.prisma.ticket.update({ where: { id: mailed.id }, data: { awaitingSince: null } });
      await sendRaw(smtp, { from: 'maria@customer.test', to: ['support@caseboard.test'] }, [
        'From: Maria Person <maria@customer.test>', 'To: support@caseboard.test', `Subject: Re: [${mailed.reference}] VPN drops every hour`,
        `Message-ID: <vpn2-${Date.now()}@mua.test>`, 'Date: Mon, 7 Dec 2026 10:00:00 +0000', '', 'Still dropping.', '',
      ].join('\r\n'));
      const after = await db.prisma.ticket.findUniqueOrThrow({ where: { id: mailed.id } });
      const reply = await db.prisma.workLogEntry.findFirstOrThrow({ where: { ticketId: mailed.id, kind: 'CUSTOMER_REPLY' } });
      expect(after.awaitingSince).toEqual(reply.createdAt);
      expect(after.lastCustomerReplyAt).toEqual(reply.createdAt);
    } finally {
      await smtp.stop();
    }
  });

  it('is cleared by a staff reply, waiting on the customer, resolving and closing; set again when the customer writes', async () => {
    const t = await buildTicket(db, tech);
    const ctx = as(db, tech);
    // A note or an urgency change leaves it.
    await addWorkLog(ctx, t.reference, { kind: 'NOTE', body: 'Looked at the logs.' });
    await changeUrgency(ctx, { reference: t.reference, version: t.version }, 'HIGH');
    expect(await awaitingOf(t.reference)).toEqual(t.createdAt);
    // A reply to the customer: nothing waits for us until they answer.
    await addWorkLog(ctx, t.reference, { kind: 'REPLY', body: 'Which printer?' });
    expect(await awaitingOf(t.reference)).toBeNull();
    // The customer answers (the private page's reply): since then, and the first answer counts.
    const first = await addCustomerReply(db.prisma, t.id, 'The one on floor 3.');
    expect(await awaitingOf(t.reference)).toEqual(first.entry.createdAt);
    await addCustomerReply(db.prisma, t.id, 'Also floor 4.');
    expect(await awaitingOf(t.reference)).toEqual(first.entry.createdAt);
    // Waiting on the customer (with a reply, or as a status change) clears it.
    let now = await db.prisma.ticket.findUniqueOrThrow({ where: { id: t.id } });
    await changeStatus(ctx, { reference: t.reference, version: now.version }, 'IN_PROGRESS');
    await addWorkLog(ctx, t.reference, { kind: 'REPLY', body: 'Try this.' }, { waitForCustomer: true });
    now = await db.prisma.ticket.findUniqueOrThrow({ where: { id: t.id } });
    expect(now.status).toBe('WAITING_ON_CUSTOMER');
    expect(now.awaitingSince).toBeNull();
    // The customer answers: back to work, waiting for us since their answer.
    const answer = await addCustomerReply(db.prisma, t.id, 'Did not help.');
    now = await db.prisma.ticket.findUniqueOrThrow({ where: { id: t.id } });
    expect(now.status).toBe('IN_PROGRESS');
    expect(+now.awaitingSince!).toBeLessThanOrEqual(+answer.entry.createdAt);
    expect(+now.awaitingSince!).toBeGreaterThan(+first.entry.createdAt);
    // Resolved: cleared. Reopened by staff: waits for us from then. Closed: cleared.
    await resolveTicket(ctx, { reference: t.reference, version: now.version }, { code: 'FIXED', note: 'New driver.' });
    expect(await awaitingOf(t.reference)).toBeNull();
    now = await db.prisma.ticket.findUniqueOrThrow({ where: { id: t.id } });
    const before = Date.now();
    await reopenTicket(ctx, { reference: t.reference, version: now.version });
    expect(+(await awaitingOf(t.reference))!).toBeGreaterThanOrEqual(before - 5);
    now = await db.prisma.ticket.findUniqueOrThrow({ where: { id: t.id } });
    await resolveTicket(ctx, { reference: t.reference, version: now.version }, { code: 'FIXED', note: 'Again.' });
    now = await db.prisma.ticket.findUniqueOrThrow({ where: { id: t.id } });
    // A customer's reply to a resolved ticket reopens it and it waits for us again.
    const reopened = await addCustomerReply(db.prisma, t.id, 'It came back.');
    expect(reopened.ticket.status).toBe('OPEN');
    expect(await awaitingOf(t.reference)).not.toBeNull();
    now = await db.prisma.ticket.findUniqueOrThrow({ where: { id: t.id } });
    await resolveTicket(ctx, { reference: t.reference, version: now.version }, { code: 'FIXED', note: 'Third time.' });
    now = await db.prisma.ticket.findUniqueOrThrow({ where: { id: t.id } });
    await changeStatus(ctx, { reference: t.reference, version: now.version }, 'CLOSED');
    expect(await awaitingOf(t.reference)).toBeNull();
  });

  it('is set by a reply through the private link, and by a quarantined mail attached as the customer’s reply', async () => {
    const t = await buildTicket(db, tech, { customer: { name: 'Link Person', email: 'link-person@customer.test' } });
    await addWorkLog(as(db, tech), t.reference, { kind: 'REPLY', body: 'Can you send a photo?' });
    expect(await awaitingOf(t.reference)).toBeNull();
    const token = await issueAccessToken(db.pool, t.id, null, 30);
    const customer = request.agent(app);
    await confirmLink(customer, token);
    const page = await customer.get(`/s/${token}`).expect(200);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
    await customer.post(`/s/${token}/reply`).type('form').send({ _csrf: csrf, body: 'Here it is.' }).expect(303);
    const entry = await db.prisma.workLogEntry.findFirstOrThrow({ where: { ticketId: t.id, kind: 'CUSTOMER_REPLY' } });
    expect(await awaitingOf(t.reference)).toEqual(entry.createdAt);

    // Quarantine: a held mail from the customer, attached by staff as their reply.
    await addWorkLog(as(db, tech), t.reference, { kind: 'REPLY', body: 'Thanks.' });
    expect(await awaitingOf(t.reference)).toBeNull();
    const held = await db.prisma.inboundMail.create({
      data: {
        messageId: `<held-${Date.now()}@mua.test>`, fromAddress: 'link-person@customer.test', fromName: 'Link Person',
        subject: `Re: [${t.reference}]`, body: 'One more thing.', state: 'QUARANTINED', reason: 'Held for the test.', matchedTicketId: t.id,
      },
    });
    const attached = await attachToTicket(as(db, tech), held.id, t.reference);
    expect(attached.asCustomerReply).toBe(true);
    const last = await db.prisma.workLogEntry.findFirstOrThrow({ where: { ticketId: t.id, kind: 'CUSTOMER_REPLY' }, orderBy: { id: 'desc' } });
    expect(await awaitingOf(t.reference)).toEqual(last.createdAt);
  });
});

describe('unread marks', () => {
  it('marks tickets changed since the user last opened them, and customer replies after that, as visible text', async () => {
    const me = await buildUser(db, { name: 'Reader Tech' });
    const other = await buildUser(db, { name: 'Other Tech' });
    const mine = await buildTicket(db, me, { title: 'Logged by me' });
    const theirs = await buildTicket(db, other, { title: 'Logged by them' });
    const marks = async (reference: string) => {
      const page = await listQueue(as(db, me), { statuses: ACTIVE_STATUSES, assignee: 'anyone', text: reference });
      const row = page.rows.find((r) => r.reference === reference)!;
      return { unseen: row.unseen, newReply: row.newReply };
    };
    // Never opened: new to me unless I logged it.
    expect(await marks(theirs.reference)).toEqual({ unseen: true, newReply: false });
    expect(await marks(mine.reference)).toEqual({ unseen: false, newReply: false });
    // Opening the page (its one statement) records the visit.
    await getTicketView(as(db, me), theirs.reference);
    expect(await marks(theirs.reference)).toEqual({ unseen: false, newReply: false });
    const seen = await db.prisma.ticketView.findUniqueOrThrow({ where: { userId_ticketId: { userId: me.id, ticketId: theirs.id } } });
    expect(seen.seenVersion).toBe(theirs.version);
    // A colleague's change: updated since I looked.
    await changeUrgency(as(db, other), { reference: theirs.reference, version: theirs.version }, 'HIGH');
    expect(await marks(theirs.reference)).toEqual({ unseen: true, newReply: false });
    // The customer writes: a new reply (a work-log entry, no new version).
    await getTicketView(as(db, me), theirs.reference);
    await addCustomerReply(db.prisma, theirs.id, 'Any news?');
    expect(await marks(theirs.reference)).toEqual({ unseen: false, newReply: true });
    // The page shows both as words, not colour only.
    await changeUrgency(as(db, other), { reference: theirs.reference, version: theirs.version + 1 }, 'LOW');
    const { agent } = await signIn(app, me.email);
    const html = (await agent.get('/tickets').query({ q: theirs.reference }).expect(200)).text;
    const row = html.split("<tr").find((r) => r.includes(`name="t" value="${theirs.reference}:`))!;
    expect(row).toContain('<span class="mark">Updated</span>');
    expect(row).toContain('<span class="mark reply">New reply</span>');
    // Opened again: both gone; reading it once more writes nothing new.
    await agent.get(`/tickets/${theirs.reference}`).expect(200);
    expect(await marks(theirs.reference)).toEqual({ unseen: false, newReply: false });
    const first = await db.prisma.ticketView.findUniqueOrThrow({ where: { userId_ticketId: { userId: me.id, ticketId: theirs.id } } });
    await agent.get(`/tickets/${theirs.reference}`).expect(200);
    const again = await db.prisma.ticketView.findUniqueOrThrow({ where: { userId_ticketId: { userId: me.id, ticketId: theirs.id } } });
    expect(again.seenAt).toEqual(first.seenAt);
    // Another user's visit is theirs alone.
    expect(await db.prisma.ticketView.count({ where: { userId: other.id, ticketId: theirs.id } })).toBe(0);
  });
});
