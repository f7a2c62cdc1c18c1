// Live ticket pages (src/web/live.ts, src/services/live/): server-sent events over real HTTP,
// two app instances on one database (on the server: LISTEN/NOTIFY on each instance's own
// connection; embedded: polling), presence across instances, caps, and streams that end with
// the session, the client or the process.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { createApp, liveHubOf } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { createLiveHub } from '../../src/web/live.js';
import { addWorkLog, appendWorkLog } from '../../src/services/tickets/add-work-log.js';
import { takeTicket } from '../../src/services/tickets/assign-ticket.js';
import { changeUrgency } from '../../src/services/tickets/change-urgency.js';
import { createLiveFeed, parsePayload, type FeedEvent } from '../../src/services/live/feed.js';
import type { Actor } from '../../src/services/context.js';
import type { Ticket } from '../../src/generated/prisma/client.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { as, buildTicket, buildUser } from '../helpers/factories.js';
import { confirmLink, csrfOf, testApp } from '../helpers/http.js';
import { issueAccessToken } from '../../src/services/public/access-links.js';
import { signInRaw } from '../security/route-cases.js';

const SECRET = 'test-secret-that-is-long-enough-1234567890';

interface Event {
  event: string;
  data: unknown;
}

/** An EventSource-like client on a raw HTTP request: every event it received, and waiting for one. */
class StreamClient {
  readonly events: Event[] = [];
  status = 0;
  contentType = '';
  ended = false;
  private buffer = '';
  private waiters: (() => void)[] = [];
  private req!: http.ClientRequest;

  static open(base: string, path: string, cookie: string): Promise<StreamClient> {
    const c = new StreamClient();
    return new Promise((resolve, reject) => {
      c.req = http.get(`${base}${path}`, { headers: { cookie, accept: 'text/event-stream' } }, (res) => {
        c.status = res.statusCode ?? 0;
        c.contentType = String(res.headers['content-type'] ?? '');
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => c.feed(chunk));
        res.on('end', () => {
          c.ended = true;
          c.wake();
        });
        res.on('error', () => undefined);
        resolve(c);
      });
      c.req.on('error', (err) => (c.status ? undefined : reject(err)));
    });
  }

  private feed(chunk: string) {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data !== undefined) this.events.push({ event, data: JSON.parse(data) });
    }
    this.wake();
  }

  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  /** The first event (from `from` on) that matches, waiting up to `ms` for it. */
  async next(match: (e: Event) => boolean, ms = 5000, from = 0): Promise<Event> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.events.slice(from).find(match);
      if (found) return found;
      if (this.ended) throw new Error(`stream ended without the event; got ${JSON.stringify(this.events)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no such event within ${ms} ms; got ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async untilEnded(ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error('the stream did not end');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  close() {
    this.req.destroy();
  }
}

const isPresence = (names: string[], typing?: string) => (e: Event) => {
  if (e.event !== 'presence') return false;
  const viewers = (e.data as { viewers: { name: string; typing: string | null }[] }).viewers;
  return (
    JSON.stringify(viewers.map((v) => v.name).sort()) === JSON.stringify([...names].sort()) &&
    (typing === undefined || viewers.some((v) => v.typing === typing))
  );
};

async function listen(app: Express): Promise<{ base: string; server: http.Server }> {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

let db: TestDatabase;
let appA: Express;
let appB: Express;
let A: string;
let B: string;
const servers: http.Server[] = [];
let ann: Actor;
let bob: Actor;
let annCookie: string;
let bobCookie: string;
let ticket: Ticket;
const open: StreamClient[] = [];
const stream = async (base: string, path: string, cookie: string) => {
  const c = await StreamClient.open(base, path, cookie);
  open.push(c);
  return c;
};
const viewerRows = async (ticketId: number) =>
  (await db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM "TicketViewer" WHERE "ticketId" = $1`, [ticketId])).rows[0]!.n;

beforeAll(async () => {
  db = await createTestDatabase();
  // Two instances of the app on one database, as behind a load balancer.
  appA = testApp(db);
  appB = testApp(db);
  ({ base: A } = await listen(appA).then((r) => (servers.push(r.server), r)));
  ({ base: B } = await listen(appB).then((r) => (servers.push(r.server), r)));
  ann = await buildUser(db, { name: 'Ann Viewer' });
  bob = await buildUser(db, { name: 'Bob Writer' });
  annCookie = (await signInRaw(appB, ann.email)).cookie;
  bobCookie = (await signInRaw(appA, bob.email)).cookie;
  ticket = await buildTicket(db, ann);
});

afterAll(async () => {
  for (const c of open) c.close();
  for (const app of [appA, appB]) await liveHubOf(app)?.stop();
  for (const s of servers) s.closeAllConnections();
  await db?.close();
});

describe('the event stream of a ticket page', () => {
  it('is a text/event-stream for staff, with the other viewers (never the viewer themself)', async () => {
    const s = await stream(B, `/tickets/${ticket.reference}/events`, annCookie);
    expect(s.status).toBe(200);
    expect(s.contentType).toMatch(/^text\/event-stream/);
    await s.next(isPresence([]));
    s.close();
  });

  it('sends strangers and customers to sign in, and knows no ticket that does not exist', async () => {
    const anon = await request(appA).get(`/tickets/${ticket.reference}/events`);
    expect(anon.status).toBe(303);
    expect(anon.headers.location).toMatch(/^\/login\?next=/);
    await request(appA).get('/tickets/CB-0000000/events').set('Cookie', bobCookie).expect(404);
    // Customers never: their private link's page names no stream, and they hold no staff session.
    const customer = request.agent(appA);
    const token = await issueAccessToken(db.pool, ticket.id, null, 30);
    const page = await confirmLink(customer, token);
    expect(page.text).not.toContain('/events');
    expect(page.text).not.toContain('live.js');
    const res = await customer.get(`/tickets/${ticket.reference}/events`);
    expect(res.status).toBe(303);
    expect(res.headers.location).toMatch(/^\/login\?next=/);
  });

  it('delivers a change made through instance A to a page open on instance B, and presence both ways', async () => {
    // Each instance hears PostgreSQL by itself: LISTEN on a server, polling on the embedded database.
    expect(liveHubOf(appA).feed.mode).toBe(db.namedStatements ? 'notify' : 'poll');
    const annOnB = await stream(B, `/tickets/${ticket.reference}/events`, annCookie);
    await annOnB.next(isPresence([]));
    const bobOnA = await stream(A, `/tickets/${ticket.reference}/events`, bobCookie);
    // Each sees the other, across the instances; neither sees themself.
    await bobOnA.next(isPresence(['Ann Viewer']));
    await annOnB.next(isPresence(['Bob Writer']));

    // Bob writes: Ann sees "Bob is writing a note…"
    const page = await request(appA).get(`/tickets/${ticket.reference}`).set('Cookie', bobCookie).expect(200);
    const csrf = csrfOf(page.text);
    await request(appA).post(`/tickets/${ticket.reference}/typing`).set('Cookie', bobCookie).type('form').send({ _csrf: csrf, kind: 'NOTE' }).expect(204);
    await annOnB.next(isPresence(['Bob Writer'], 'NOTE'));

    // Bob adds the note through instance A: Ann's page on instance B hears of it.
    const from = annOnB.events.length;
    await request(appA)
      .post(`/tickets/${ticket.reference}/worklog`)
      .set('Cookie', bobCookie)
      .type('form')
      .send({ _csrf: csrf, kind: 'NOTE', body: 'Swapped the toner.' })
      .expect(303);
    const changed = await annOnB.next((e) => e.event === 'changed', 5000, from);
    expect(changed.data).toEqual({ version: ticket.version });

    // Bob leaves: Ann sees nobody else.
    bobOnA.close();
    await annOnB.next(isPresence([]), 5000, annOnB.events.length - 0);
    annOnB.close();
  });

  it('hears every writer: a change through the services (as mail and automation write) and its new version', async () => {
    const s = await stream(B, `/tickets/${ticket.reference}/events`, annCookie);
    await s.next(isPresence([]));
    const now = await db.prisma.ticket.findUniqueOrThrow({ where: { id: ticket.id } });
    await changeUrgency(as(db, bob), { reference: ticket.reference, version: now.version }, 'HIGH');
    await s.next((e) => e.event === 'changed' && (e.data as { version: number }).version === now.version + 1);
    const from = s.events.length;
    await addWorkLog(as(db, bob), ticket.reference, { kind: 'ATTEMPTED_FIX', body: 'Reinstalled the driver.', outcome: 'FAILED' });
    await s.next((e) => e.event === 'changed', 5000, from);
    s.close();
  });

  it('catches a page up at once when the ticket changed between its rendering and its stream', async () => {
    const mark = (await db.pool.query<{ m: number }>(`SELECT max(id) AS m FROM "TicketHistory" WHERE "ticketId" = $1`, [ticket.id])).rows[0]!.m;
    const current = await stream(B, `/tickets/${ticket.reference}/events?mark=${mark}`, annCookie);
    await current.next(isPresence([]));
    expect(current.events.some((e) => e.event === 'changed')).toBe(false);
    const behind = await stream(B, `/tickets/${ticket.reference}/events?mark=${mark - 1}`, annCookie);
    await behind.next((e) => e.event === 'changed');
    current.close();
    behind.close();
  });

  it('removes a closed page from presence, leaving no row and no stream behind', async () => {
    const s = await stream(A, `/tickets/${ticket.reference}/events`, bobCookie);
    await s.next(isPresence([]));
    expect(await viewerRows(ticket.id)).toBeGreaterThanOrEqual(1);
    s.close();
    await expect.poll(() => liveHubOf(appA).size(), { timeout: 5000 }).toBe(0);
    await expect.poll(() => viewerRows(ticket.id), { timeout: 5000 }).toBe(0);
  });

  it('refuses bad typing beats with a 422, changing nothing', async () => {
    const page = await request(appA).get(`/tickets/${ticket.reference}`).set('Cookie', bobCookie).expect(200);
    const s = await stream(A, `/tickets/${ticket.reference}/events`, bobCookie);
    await s.next(isPresence([]));
    const before = (await db.pool.query(`SELECT typing, "typingAt" FROM "TicketViewer" ORDER BY id`)).rows;
    for (const kind of ['CUSTOMER_REPLY', 'x'.repeat(5000), undefined]) {
      const res = await request(appA).post(`/tickets/${ticket.reference}/typing`).set('Cookie', bobCookie).type('form').send({ _csrf: csrfOf(page.text), ...(kind === undefined ? {} : { kind }) });
      expect(res.status).toBe(422);
    }
    expect((await db.pool.query(`SELECT typing, "typingAt" FROM "TicketViewer" ORDER BY id`)).rows).toEqual(before);
    s.close();
  });
});

describe('a lost listener connection', () => {
  it('reconnects by itself, tells the pages to check themselves, and goes on delivering', async () => {
    if (!db.namedStatements) return; // polling: nothing to lose but a query, retried every second
    const s = await stream(B, `/tickets/${ticket.reference}/events`, annCookie);
    await s.next(isPresence([]));
    // Instance B's listener, killed by the server (as a restart or a network cut would).
    const { rowCount } = await db.pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND query IN ('LISTEN caseboard_ticket', 'SELECT 1')`,
    );
    expect(rowCount).toBeGreaterThanOrEqual(1);
    await s.next((e) => e.event === 'changed' && (e.data as { version: number }).version === 0, 10_000);
    const now = await db.prisma.ticket.findUniqueOrThrow({ where: { id: ticket.id } });
    const from = s.events.length;
    await changeUrgency(as(db, bob), { reference: ticket.reference, version: now.version }, now.urgency === 'LOW' ? 'NORMAL' : 'LOW');
    await s.next((e) => e.event === 'changed' && (e.data as { version: number }).version === now.version + 1, 5000, from);
    s.close();
  });
});

describe('limits and endings', () => {
  it('caps the open streams per user in a process (429, which EventSource does not retry), and frees the place when one closes', async () => {
    const config = loadConfig({ NODE_ENV: 'test', LIVE_MAX_PER_USER: '2' });
    const app = createApp({ db, config, sessionSecret: SECRET, pruneSessions: false });
    const { base, server } = await listen(app);
    servers.push(server);
    const cookie = (await signInRaw(app, ann.email)).cookie;
    const one = await stream(base, `/tickets/${ticket.reference}/events`, cookie);
    const two = await stream(base, `/tickets/${ticket.reference}/events`, cookie);
    expect([one.status, two.status]).toEqual([200, 200]);
    const three = await stream(base, `/tickets/${ticket.reference}/events`, cookie);
    expect(three.status).toBe(429);
    // Another user is not held back by Ann's pages.
    const bobs = await stream(base, `/tickets/${ticket.reference}/events`, (await signInRaw(app, bob.email)).cookie);
    expect(bobs.status).toBe(200);
    one.close();
    await expect.poll(() => liveHubOf(app).size(), { timeout: 5000 }).toBe(2);
    const four = await stream(base, `/tickets/${ticket.reference}/events`, cookie);
    expect(four.status).toBe(200);
    await liveHubOf(app).stop();
    await Promise.all([two, bobs, four].map((c) => c.untilEnded()));
  });

  it('ends a stream when its session signs out (at once) or its user is deactivated (at the next beat, on any instance)', async () => {
    const config = loadConfig({ NODE_ENV: 'test' });
    const app = createApp({ db, config, sessionSecret: SECRET, pruneSessions: false, live: createLiveHub(db, { maxPerUser: 4, maxStreams: 100, beatMs: 300 }) });
    const { base, server } = await listen(app);
    servers.push(server);

    const signedIn = await signInRaw(app, bob.email);
    const s = await stream(base, `/tickets/${ticket.reference}/events`, signedIn.cookie);
    expect(s.status).toBe(200);
    await request(app).post('/logout').set('Cookie', signedIn.cookie).type('form').send({ _csrf: signedIn.csrf }).expect(303);
    await s.untilEnded(2000);

    const carl = await buildUser(db, { name: 'Carl Leaving' });
    const carlCookie = (await signInRaw(app, carl.email)).cookie;
    const c = await stream(base, `/tickets/${ticket.reference}/events`, carlCookie);
    await c.next(isPresence([]));
    // Deactivated elsewhere (another instance, or straight in the database): the stamp moves on.
    await db.pool.query(`UPDATE "User" SET active = false, "securityStamp" = gen_random_uuid() WHERE id = $1`, [carl.id]);
    await c.untilEnded(5000);
    await liveHubOf(app).stop();
  });

  it('ends every stream when the process stops, so that the server can close', async () => {
    const config = loadConfig({ NODE_ENV: 'test' });
    const app = createApp({ db, config, sessionSecret: SECRET, pruneSessions: false });
    const { base, server } = await listen(app);
    const s = await stream(base, `/tickets/${ticket.reference}/events`, (await signInRaw(app, ann.email)).cookie);
    await s.next(isPresence([]));
    await liveHubOf(app).stop();
    server.closeIdleConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(s.ended).toBe(true);
    await expect.poll(() => viewerRows(ticket.id), { timeout: 5000 }).toBe(0);
  });
});

describe('the pages the scripts enhance', () => {
  it('the ticket page names its stream with the latest history row it shows, and where the work is', async () => {
    const t = await buildTicket(db, bob);
    const page = async () => (await request(appA).get(`/tickets/${t.reference}`).set('Cookie', bobCookie).expect(200)).text;
    const mark = async () => (await db.pool.query<{ m: number }>(`SELECT max(id) AS m FROM "TicketHistory" WHERE "ticketId" = $1`, [t.id])).rows[0]!.m;
    let html = await page();
    expect(html).toContain(`data-events="/tickets/${t.reference}/events?mark=${await mark()}"`);
    // A technician logged it and nobody wrote since: the first action, not the reply.
    expect(html).toContain('data-focus="action"');
    expect(html).toMatch(/<script src="\/public\/js\/live\.js" defer><\/script>/);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script (CSP)

    // The customer wrote last: the reply is where the work is.
    await db.prisma.$transaction(async (tx) => {
      const current = await tx.ticket.findUniqueOrThrow({ where: { id: t.id } });
      const customer = await tx.customer.findUniqueOrThrow({ where: { id: t.customerId } });
      await appendWorkLog(tx, { customerId: customer.id, name: customer.name, email: customer.email }, current, { kind: 'CUSTOMER_REPLY', body: 'Still broken.' });
    });
    html = await page();
    expect(html).toContain('data-focus="reply"');
    expect(html).toContain(`events?mark=${await mark()}"`);
    // Answered: back to the first action.
    await addWorkLog(as(db, bob), t.reference, { kind: 'REPLY', body: 'Trying something.' });
    expect(await page()).toContain('data-focus="action"');
  });

  it('the queue marks the rows the "take" shortcut may take, with their version, and has one form for it', async () => {
    const free = await buildTicket(db, bob, { urgency: 'CRITICAL', title: 'Free to take' });
    const owned = await buildTicket(db, bob, { urgency: 'CRITICAL', title: 'Owned already' });
    const taken = await takeTicket(as(db, ann), { reference: owned.reference, version: owned.version });
    const html = (await request(appA).get('/tickets?urgency=CRITICAL').set('Cookie', bobCookie).expect(200)).text;
    const row = (ref: string) => new RegExp(`<tr[^>]*>(?:(?!</tr>).)*${ref}`, 's').exec(html)?.[0].slice(0, 80) ?? '';
    expect(row(free.reference)).toContain(`data-take="${free.version}"`);
    expect(row(owned.reference)).not.toContain('data-take');
    expect(taken.assigneeId).toBe(ann.id);
    expect(html.match(/id="take-form"/g)).toHaveLength(1);
  });
});

describe('the feed', () => {
  it('started again while it stops (the last page closed, a new one opened), hears changes once', async () => {
    const feed = createLiveFeed(db, { pollMs: 100 });
    const heard: FeedEvent[] = [];
    feed.subscribe((e) => heard.push(e));
    await feed.start();
    const stopping = feed.stop();
    const starting = feed.start();
    await Promise.all([stopping, starting]);
    const now = await db.prisma.ticket.findUniqueOrThrow({ where: { id: ticket.id } });
    await changeUrgency(as(db, bob), { reference: ticket.reference, version: now.version }, now.urgency === 'NONE' ? 'LOW' : 'NONE');
    const mine = () => heard.filter((e) => e.kind === 'ticket' && e.ticketId === ticket.id && e.version === now.version + 1);
    await expect.poll(() => mine().length, { timeout: 5000 }).toBe(1);
    await new Promise((r) => setTimeout(r, 400)); // no second poller, no second connection: still one
    expect(mine()).toHaveLength(1);
    await feed.stop();
  });
});

describe('the payload', () => {
  it('is a ticket id and a version, or a ticket id for presence; anything else is ignored', () => {
    expect(parsePayload('t:12:3')).toEqual({ kind: 'ticket', ticketId: 12, version: 3 });
    expect(parsePayload('p:12')).toEqual({ kind: 'presence', ticketId: 12 });
    for (const bad of ['', 'x:1', 't:', 't:1:2:3', 'p:1e3', undefined]) expect(parsePayload(bad)).toBeNull();
  });

  it('on the embedded database, a notification never reaches another connection that LISTENs (why the feed polls there)', async () => {
    if (db.namedStatements) return; // a server delivers them: the test above
    const pg = await import('pg');
    const listener = new pg.default.Client({ connectionString: db.url });
    const writer = new pg.default.Client({ connectionString: db.url });
    await Promise.all([listener.connect(), writer.connect()]);
    const heard: string[] = [];
    listener.on('notification', (n) => heard.push(n.payload ?? ''));
    await listener.query('LISTEN caseboard_probe');
    await writer.query(`SELECT pg_notify('caseboard_probe', 'hello')`);
    await new Promise((r) => setTimeout(r, 500));
    await listener.query('SELECT 1'); // a chance to pass on anything pending
    await new Promise((r) => setTimeout(r, 200));
    expect(heard).toEqual([]);
    await listener.query('UNLISTEN *');
    await Promise.all([listener.end(), writer.end()]);
  });

  it('never carries content: the notifications of a reply hold only ids and versions', async () => {
    if (!db.namedStatements) return; // the embedded database polls instead (see feed.ts)
    const pg = await import('pg');
    const client = new pg.default.Client({ connectionString: db.url });
    await client.connect();
    const heard: string[] = [];
    client.on('notification', (n) => heard.push(n.payload ?? ''));
    await client.query('LISTEN caseboard_ticket');
    await addWorkLog(as(db, bob), ticket.reference, { kind: 'REPLY', body: 'A secret word: marmalade' });
    await expect.poll(() => heard.length, { timeout: 5000 }).toBeGreaterThan(0);
    await client.end();
    for (const p of heard) expect(p).toMatch(/^(t:\d+:\d+|p:\d+)$/);
    // The entry and its history row, one transaction, one notification.
    expect(heard.filter((p) => p.startsWith('t:'))).toHaveLength(1);
  });
});
