// The customer-facing side over HTTP: status by reference + email, private access links and
// replies, the web request form, the public help centre. No staff sign-in anywhere here.
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import request from 'supertest';
import type { Express } from 'express';
import { createTestDatabase, countRows, type TestDatabase } from '../helpers/db.js';
import { as, buildTicket, buildUser } from '../helpers/factories.js';
import { confirmLink, csrfOf, expectRefused, testApp } from '../helpers/http.js';
import type { Actor } from '../../src/services/context.js';
import { addWorkLog } from '../../src/services/tickets/add-work-log.js';
import { resolveTicket } from '../../src/services/tickets/resolve-ticket.js';
import { changeStatus } from '../../src/services/tickets/change-status.js';
import { updateTicketDetails } from '../../src/services/tickets/update-details.js';
import { issueAccessToken, revokeAccessLinks } from '../../src/services/public/access-links.js';
import { createArticle, setArticleStatus } from '../../src/services/knowledge/manage-articles.js';

let db: TestDatabase;
let app: Express;
let tech: Actor;
let admin: Actor;

beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db);
  tech = await buildUser(db, { name: 'Tess Tech' });
  admin = await buildUser(db, { role: 'ADMIN' });
});
afterAll(() => db.close());

/**
 * The public forms' counts are kept in PostgreSQL, shared by every app on this database (as by
 * every instance): a test with its own limit starts from nothing and leaves nothing to the others.
 */
const clearThrottles = async () => {
  await db.pool.query(`DELETE FROM "ApiRateLimit" WHERE key LIKE 'public:%'`);
};

/** An anonymous browser with a CSRF token from the given page. */
async function visitor(page = '/status', on = app) {
  const agent = request.agent(on);
  const res = await agent.get(page).expect(200);
  return { agent, csrf: csrfOf(res.text) };
}

const NOT_FOUND = 'No ticket was found for that reference number and email address.';

describe('status by reference number and email', () => {
  it('shows where the ticket stands only when both match, in plain words, and never the conversation', async () => {
    const t = await buildTicket(db, tech, {
      title: 'Scanner drops pages',
      customer: { name: 'Rita Reader', email: 'rita@customer.test' },
    });
    await addWorkLog(as(db, tech), t.reference, { kind: 'NOTE', body: 'INTERNAL: customer is on the old driver' });
    await addWorkLog(as(db, tech), t.reference, { kind: 'ATTEMPTED_FIX', body: 'SECRET-FIX reinstalled', outcome: 'FAILED' });
    await addWorkLog(as(db, tech), t.reference, { kind: 'REPLY', body: 'Please send us a sample page.' });
    const cur = await db.prisma.ticket.findUniqueOrThrow({ where: { id: t.id } });
    await resolveTicket(as(db, tech), { reference: t.reference, version: cur.version }, { code: 'WORKAROUND', note: 'Scan in batches of ten.' });

    const { agent, csrf } = await visitor();
    // Forgiving reference: lower case, spaces, no prefix; email in any case.
    const loose = t.reference.slice(3).toLowerCase().replace(/(.{3})/, '$1 ');
    const res = await agent.post('/status').type('form').send({ _csrf: csrf, reference: loose, email: ' RITA@customer.test ' });
    expect(res.status).toBe(200);
    expect(res.text).toContain('Scanner drops pages');
    expect(res.text).toContain('Resolved');
    expect(res.text).toContain('Workaround provided');
    // A reference and an address are no secret: what staff wrote is only behind the private link.
    expect(res.text).not.toContain('Please send us a sample page.');
    expect(res.text).not.toContain('Scan in batches of ten.');
    expect(res.text).toContain('only through the private link in our mails');
    expect(res.text).not.toContain('INTERNAL: customer is on the old driver');
    expect(res.text).not.toContain('SECRET-FIX');
    expect(res.headers['cache-control']).toBe('no-store');

    // The private link, once confirmed, shows the public conversation and the resolution.
    const link = await confirmLink(agent, await issueAccessToken(db.pool, t.id, null, 30));
    expect(link.text).toContain('Please send us a sample page.');
    expect(link.text).toContain('Scan in batches of ten.');
    expect(link.text).not.toContain('INTERNAL: customer is on the old driver');
    expect(link.text).not.toContain('SECRET-FIX');
  });

  it('says the same thing whatever was wrong, and writes nothing', async () => {
    const t = await buildTicket(db, tech, { customer: { name: 'Sam', email: 'sam@customer.test' } });
    const other = await buildTicket(db, tech, { customer: { name: 'Ola', email: 'ola@customer.test' } });
    const { agent, csrf } = await visitor();
    const tries = [
      { reference: t.reference, email: 'ola@customer.test' }, // another customer's email
      { reference: other.reference, email: 'sam@customer.test' },
      { reference: 'CB-ZZZZZZZ', email: 'sam@customer.test' }, // no such ticket
      { reference: 'nonsense!!', email: 'sam@customer.test' },
    ];
    for (const form of tries) {
      const res = await expectRefused(db, () => agent.post('/status').type('form').send({ _csrf: csrf, ...form }), 404, NOT_FOUND);
      expect(res.text).not.toContain(t.title === other.title ? 'never' : t.title);
    }
    await expectRefused(db, () => agent.post('/status').type('form').send({ _csrf: csrf, reference: '', email: 'x' }), 422, 'The reference number is required.');
  });

  it('is throttled per client', async () => {
    await clearThrottles();
    onTestFinished(clearThrottles);
    const strict = testApp(db, { PUBLIC_FORM_LIMIT: '3' });
    const { agent, csrf } = await visitor('/status', strict);
    for (let i = 0; i < 3; i++) {
      await agent.post('/status').type('form').send({ _csrf: csrf, reference: 'CB-AAAAAAA', email: 'a@b.test' }).expect(404);
    }
    const res = await agent.post('/status').type('form').send({ _csrf: csrf, reference: 'CB-AAAAAAA', email: 'a@b.test' });
    expect(res.status).toBe(429);
    expect(res.text).toContain('Too many attempts');
  });
});

describe('private access links', () => {
  it('open only their own ticket; a reply from the page reopens a resolved ticket, recorded as the customer', async () => {
    const mine = await buildTicket(db, tech, { title: 'VPN drops hourly', customer: { name: 'Mia', email: 'mia@customer.test' } });
    const theirs = await buildTicket(db, tech, { title: 'Someone else’s printer', customer: { name: 'Ned', email: 'ned@customer.test' } });
    const token = await issueAccessToken(db.pool, mine.id, null, 30);
    await resolveTicket(as(db, tech), { reference: mine.reference, version: mine.version }, { code: 'FIXED', note: 'New VPN profile.' });

    const { agent } = await visitor();
    const page = await confirmLink(agent, token);
    expect(page.text).toContain('VPN drops hourly');
    expect(page.text).not.toContain('Someone else’s printer');

    const before = await countRows(db);
    await agent.post(`/s/${token}/reply`).type('form').send({ _csrf: csrfOf(page.text), body: 'It dropped again at 10:00.' }).expect(303);
    const after = await countRows(db);
    expect(after.WorkLogEntry! - before.WorkLogEntry!).toBe(1);
    const ticket = await db.prisma.ticket.findUniqueOrThrow({ where: { id: mine.id }, include: { workLog: true } });
    expect(ticket.status).toBe('OPEN');
    const reply = ticket.workLog.at(-1)!;
    expect(reply).toMatchObject({ kind: 'CUSTOMER_REPLY', authorId: null, authorCustomerId: mine.customerId, body: 'It dropped again at 10:00.' });
    const history = await db.prisma.ticketHistory.findMany({ where: { ticketId: mine.id }, orderBy: { id: 'asc' } });
    const byCustomer = history.filter((h) => h.actorCustomerId === mine.customerId);
    expect(byCustomer.map((h) => [h.action, h.field, h.newValue])).toEqual([
      ['CHANGED', 'status', 'OPEN'],
      ['WORKLOG_ADDED', 'CUSTOMER_REPLY', null],
    ]);
    expect(byCustomer.every((h) => h.actorId === null)).toBe(true);
    // The other ticket was not touched.
    const untouched = await db.prisma.ticket.findUniqueOrThrow({ where: { id: theirs.id } });
    expect(untouched.version).toBe(theirs.version);
  });

  it('refuses unknown, altered, revoked and expired tokens, and replies to closed tickets, changing nothing', async () => {
    const t = await buildTicket(db, tech, { customer: { name: 'Liv', email: 'liv@customer.test' } });
    const token = await issueAccessToken(db.pool, t.id, null, 30);
    const { agent, csrf } = await visitor();
    const altered = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    for (const bad of [altered, 'short', 'x'.repeat(43)]) {
      await expectRefused(db, () => agent.get(`/s/${bad}`), 404, 'This link is not valid any more');
      await expectRefused(db, () => agent.post(`/s/${bad}/reply`).type('form').send({ _csrf: csrf, body: 'hello' }), 404);
    }
    // Expired.
    const old = await issueAccessToken(db.pool, t.id, null, 1);
    await db.pool.query(`UPDATE "TicketAccessToken" SET "expiresAt" = now() - interval '1 minute' WHERE "expiresAt" < now() + interval '2 days'`);
    await expectRefused(db, () => agent.get(`/s/${old}`), 404);
    // Revoked by staff: recorded in the ticket's history.
    await agent.get(`/s/${token}`).expect(200);
    expect(await revokeAccessLinks(as(db, tech), { reference: t.reference })).toBe(1);
    await expectRefused(db, () => agent.get(`/s/${token}`), 404);
    const revoked = await db.prisma.ticketHistory.findFirstOrThrow({ where: { ticketId: t.id, action: 'ACCESS_REVOKED' } });
    expect(revoked.actorId).toBe(tech.id);
    // A closed ticket takes no replies.
    const closedTicket = await buildTicket(db, tech, { customer: { name: 'Liv', email: 'liv@customer.test' } });
    const closedToken = await issueAccessToken(db.pool, closedTicket.id, null, 30);
    const r = await resolveTicket(as(db, tech), { reference: closedTicket.reference, version: closedTicket.version }, { code: 'FIXED', note: 'Done.' });
    await changeStatus(as(db, tech), { reference: closedTicket.reference, version: r.version }, 'CLOSED');
    await expectRefused(db, () => agent.post(`/s/${closedToken}/reply`).type('form').send({ _csrf: csrf, body: 'one more thing' }), 422, 'closed');
    // An empty reply.
    const fresh = await issueAccessToken(db.pool, t.id, null, 30);
    await expectRefused(db, () => agent.post(`/s/${fresh}/reply`).type('form').send({ _csrf: csrf, body: '   ' }), 422, 'Your reply is required.');
  });

  it('a waiting ticket goes back to work when the customer answers', async () => {
    const t = await buildTicket(db, tech, { customer: { name: 'Wes', email: 'wes@customer.test' } });
    const started = await changeStatus(as(db, tech), { reference: t.reference, version: t.version }, 'IN_PROGRESS');
    await changeStatus(as(db, tech), { reference: t.reference, version: started.version }, 'WAITING_ON_CUSTOMER');
    const token = await issueAccessToken(db.pool, t.id, null, 30);
    const { agent } = await visitor();
    const page = await confirmLink(agent, token);
    expect(page.text).toContain('We are waiting for information from you');
    await agent.post(`/s/${token}/reply`).type('form').send({ _csrf: csrfOf(page.text), body: 'Here is the log.' }).expect(303);
    expect((await db.prisma.ticket.findUniqueOrThrow({ where: { id: t.id } })).status).toBe('IN_PROGRESS');
  });
});

describe('reading a stranger’s replies by proxy (issue 9, finding 4)', () => {
  /** Everything stored about links and sessions: what a visit might change besides row counts. */
  const linkAndSessionState = async () => ({
    rows: await countRows(db),
    links: (await db.pool.query('SELECT * FROM "TicketAccessToken" ORDER BY id')).rows,
    sessions: (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM "session"')).rows[0]!.n,
  });

  /** A request filed from the web form with somebody else's address, as an attacker would. */
  async function filedForVictim(victimEmail: string) {
    const { agent, csrf } = await visitor('/request');
    const res = await agent.post('/request').type('form').send({
      _csrf: csrf, name: 'Not The Victim', email: victimEmail, title: 'Card payment failed', description: 'Please help.',
    });
    expect(res.status).toBe(201);
    const reference = /CB-[0-9A-Z]{7}/.exec(res.text)![0];
    const ticket = await db.prisma.ticket.findUniqueOrThrow({ where: { reference } });
    // The link that the confirmation mail carries to the victim's mailbox.
    const token = await issueAccessToken(db.pool, ticket.id, null, 30);
    const lookUp = () => agent.post('/status').type('form').send({ _csrf: csrf, reference, email: victimEmail });
    return { attacker: agent, reference, ticket, token, lookUp };
  }

  it('a link scanner opening the mailed link (GET, HEAD, again and again) changes nothing and unlocks nothing', async () => {
    const { ticket, token, lookUp } = await filedForVictim(`scanned-${Date.now()}@customer.test`);
    await addWorkLog(as(db, tech), ticket.reference, { kind: 'REPLY', body: 'Please send us your card number.' });
    const before = await linkAndSessionState();
    // Scanners: no cookie, or a jar of their own; GET and HEAD; several of them.
    for (let i = 0; i < 3; i++) {
      const page = await request(app).get(`/s/${token}`).expect(200);
      expect(page.text).toContain('Show my request');
      expect(page.text).not.toContain('Card payment failed');
      expect(page.text).not.toContain('Please send us your card number.');
      expect(page.headers['cache-control']).toBe('no-store');
      await request(app).head(`/s/${token}`).expect(200);
      await request.agent(app).get(`/s/${token}`).redirects(5).expect(200);
    }
    expect(await linkAndSessionState()).toEqual(before);
    expect(before.links.find((l) => l.ticketId === ticket.id)?.confirmedAt ?? null).toBeNull();
    // The filer still cannot find the ticket by its reference and the victim's address.
    await expectRefused(db, lookUp, 404, NOT_FOUND);
  });

  it('only the button (a form POST with its CSRF token) confirms the link; then the link shows the conversation and /status the status alone', async () => {
    const { ticket, token, lookUp } = await filedForVictim(`confirmed-${Date.now()}@customer.test`);
    await addWorkLog(as(db, tech), ticket.reference, { kind: 'REPLY', body: 'Please send us your card number.' });
    const victim = request.agent(app);
    const page = await victim.get(`/s/${token}`).expect(200);
    // Without the CSRF token, or with another browser's: refused, nothing changes.
    const before = await linkAndSessionState();
    await victim.post(`/s/${token}/confirm`).type('form').send({}).expect(403);
    const other = await visitor(`/s/${token}`);
    await victim.post(`/s/${token}/confirm`).type('form').send({ _csrf: other.csrf }).expect(403);
    await request(app).post(`/s/${token}/confirm`).type('form').send({ _csrf: csrfOf(page.text) }).expect(403);
    await victim.post(`/s/${token.slice(0, -2)}xx/confirm`).type('form').send({ _csrf: csrfOf(page.text) }).expect(404);
    expect(await linkAndSessionState()).toEqual(before);
    await expectRefused(db, lookUp, 404, NOT_FOUND);

    // The person presses the button.
    const confirmed = await victim.post(`/s/${token}/confirm`).type('form').send({ _csrf: csrfOf(page.text) }).expect(303);
    expect(confirmed.headers.location).toBe(`/s/${token}`);
    const row = await db.prisma.ticketAccessToken.findFirstOrThrow({ where: { ticketId: ticket.id } });
    expect(row.confirmedAt).toBeInstanceOf(Date);
    const shown = await victim.get(`/s/${token}`).expect(200);
    expect(shown.text).toContain('Card payment failed');
    expect(shown.text).toContain('Please send us your card number.');
    // Later links of the same ticket open at once (a person already confirmed one).
    const later = await issueAccessToken(db.pool, ticket.id, null, 30);
    expect((await request(app).get(`/s/${later}`).expect(200)).text).toContain('Please send us your card number.');

    // The filer now finds the ticket's status, never what staff wrote to the mailbox's owner.
    const found = await lookUp();
    expect(found.status).toBe(200);
    expect(found.text).toContain(ticket.reference);
    expect(found.text).toContain('New');
    expect(found.text).not.toContain('Please send us your card number.');
    expect(found.text).not.toContain(`/s/${token}`);
  });

  it('/status says "not found" alike, and as fast, for a wrong address, an unknown reference and an unconfirmed web request', async () => {
    onTestFinished(clearThrottles);
    const loose = testApp(db, { PUBLIC_FORM_LIMIT: '10000' });
    const real = await buildTicket(db, tech, { customer: { name: 'Tim', email: `timing-${Date.now()}@customer.test` } });
    const email = `timing-web-${Date.now()}@customer.test`;
    const { reference: unconfirmed } = await filedForVictim(email);
    const { agent, csrf } = await visitor('/status', loose);
    const tries = {
      wrongAddress: { reference: real.reference, email: 'someone.else@customer.test' },
      unknownReference: { reference: 'CB-ZZZZZZZ', email },
      unconfirmed: { reference: unconfirmed, email },
    };
    const times: Record<string, number[]> = { wrongAddress: [], unknownReference: [], unconfirmed: [] };
    const bodies = new Set<string>();
    for (let round = 0; round < 25; round++) {
      for (const [kind, form] of Object.entries(tries)) {
        const t0 = performance.now();
        const res = await agent.post('/status').type('form').send({ _csrf: csrf, ...form });
        times[kind]!.push(performance.now() - t0);
        expect(res.status).toBe(404);
        bodies.add(res.text.replace(/value="[^"]*"/g, ''));
      }
    }
    expect(bodies.size).toBe(1);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const medians = Object.values(times).map(median);
    // A generous bound (a shared 2-core machine): an extra query or a hash would show as more.
    expect(Math.max(...medians) - Math.min(...medians), JSON.stringify(medians)).toBeLessThan(5);
  });
});

describe('"What you reported" on the private link (issue 11)', () => {
  const reported = (html: string) => {
    const at = html.indexOf('id="reported-h"');
    return at < 0 ? null : html.slice(html.indexOf('>', at) + 1, html.indexOf('</section>', at));
  };

  it("a request the customer sent shows their own words, as sent, even after staff reworded it; /status never shows them", async () => {
    const email = `reporter-${Date.now()}@customer.test`;
    const { agent, csrf } = await visitor('/request');
    const res = await agent.post('/request').type('form').send({
      _csrf: csrf, name: 'Rhea Reporter', email, title: 'Laptop will not charge', description: 'The light <b>blinks</b> orange & nothing happens.',
    });
    expect(res.status).toBe(201);
    const reference = /CB-[0-9A-Z]{7}/.exec(res.text)![0];
    const ticket = await db.prisma.ticket.findUniqueOrThrow({ where: { reference } });
    expect(ticket.createdById).toBeNull();
    // Staff reword the description for themselves: the customer still sees what they wrote.
    await updateTicketDetails(as(db, tech), { reference, version: ticket.version }, {
      title: ticket.title, description: 'INTERNAL: dead battery, VIP customer, replace under warranty', channel: 'WEB', environment: null, occurrence: null, workaround: null,
    });
    const token = await issueAccessToken(db.pool, ticket.id, null, 30);
    // Before a person confirmed the link: nothing of it.
    const unconfirmed = await request(app).get(`/s/${token}`).expect(200);
    expect(unconfirmed.text).not.toContain('blinks');
    const page = await confirmLink(request.agent(app), token);
    expect(reported(page.text)).toContain('The light &lt;b&gt;blinks&lt;/b&gt; orange &amp; nothing happens.');
    expect(page.text).toContain('<h2 id="reported-h">What you reported</h2>');
    expect(page.text).not.toContain('INTERNAL: dead battery');
    // The reference and the address show the status alone, never the description.
    const status = await agent.post('/status').type('form').send({ _csrf: csrf, reference, email }).expect(200);
    expect(status.text).toContain('Laptop will not charge');
    expect(status.text).not.toContain('What you reported');
    expect(status.text).not.toContain('blinks');
    expect(status.text).not.toContain('INTERNAL: dead battery');
  });

  it('a ticket staff logged (by phone) shows no description: it is staff\'s wording', async () => {
    const t = await buildTicket(db, tech, { description: 'Caller sounded drunk; INTERNAL notes here.', customer: { name: 'Phil Phone', email: `phil-${Date.now()}@customer.test` } });
    expect(t.createdById).toBe(tech.id);
    const page = await confirmLink(request.agent(app), await issueAccessToken(db.pool, t.id, null, 30));
    expect(page.text).toContain(t.title);
    expect(page.text).not.toContain('What you reported');
    expect(page.text).not.toContain('Caller sounded drunk');
  });
});

describe('the web request form', () => {
  it('creates a WEB ticket with NORMAL urgency by the customer, shows its reference and queues the mail', async () => {
    await buildTicket(db, tech, { customer: { name: 'Original Name', email: 'known@customer.test' } });
    const { agent, csrf } = await visitor('/request');
    const before = await countRows(db);
    const res = await agent.post('/request').type('form').send({
      _csrf: csrf, name: 'Someone Else', email: 'KNOWN@customer.test', title: 'Portal login loops',
      description: 'After signing in I land on the sign-in page again.', environment: 'Firefox 140 on Windows 11',
      occurrence: 'Every time since Monday', website: '',
    });
    expect(res.status).toBe(201);
    const reference = /CB-[0-9A-Z]{7}/.exec(res.text)?.[0];
    expect(reference).toBeDefined();
    const ticket = await db.prisma.ticket.findUniqueOrThrow({ where: { reference: reference! }, include: { customer: true, history: true } });
    expect(ticket).toMatchObject({ channel: 'WEB', urgency: 'NORMAL', status: 'NEW', createdById: null, environment: 'Firefox 140 on Windows 11' });
    // The form cannot rename an existing customer.
    expect(ticket.customer.name).toBe('Original Name');
    expect(ticket.history).toHaveLength(1);
    expect(ticket.history[0]).toMatchObject({ action: 'CREATED', actorId: null, actorCustomerId: ticket.customerId });
    const mails = await db.prisma.outboundMail.findMany({ where: { ticketId: ticket.id } });
    expect(mails.map((m) => [m.kind, m.recipient, m.state])).toEqual([['TICKET_CREATED', 'known@customer.test', 'QUEUED']]);
    const after = await countRows(db);
    expect(after.Ticket! - before.Ticket!).toBe(1);
    expect(after.Customer! - before.Customer!).toBe(0);
    // The job that sends it was queued in the same transaction.
    const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'send_mail' AND data->>'mailId' = $1`, [String(mails[0]!.id)]);
    expect(rows[0].n).toBe(1);

    // Anybody can type somebody's address into the form and sees the reference: so the reference
    // and the address find the ticket on /status only after its mailed link was confirmed.
    const lookUp = () => agent.post('/status').type('form').send({ _csrf: csrf, reference: reference!, email: 'known@customer.test' });
    await expectRefused(db, lookUp, 404, NOT_FOUND);
    const token = await issueAccessToken(db.pool, ticket.id, null, 30);
    await confirmLink(request.agent(app), token);
    const found = await lookUp();
    expect(found.status).toBe(200);
    expect(found.text).toContain('Portal login loops');
  });

  it('staff cannot give a ticket the customer reported another channel (it keeps web form or email)', async () => {
    const { agent, csrf } = await visitor('/request');
    const res = await agent.post('/request').type('form').send({
      _csrf: csrf, name: 'Uma', email: 'uma@customer.test', title: 'Cannot upload files', description: 'The button does nothing.',
    });
    const reference = /CB-[0-9A-Z]{7}/.exec(res.text)![0];
    const ticket = await db.prisma.ticket.findUniqueOrThrow({ where: { reference } });
    const edit = { title: ticket.title, description: ticket.description, environment: null, occurrence: null, workaround: null };
    const before = await countRows(db);
    await expect(
      updateTicketDetails(as(db, tech), { reference, version: ticket.version }, { ...edit, channel: 'PHONE' }),
    ).rejects.toThrow('that stays its channel');
    expect(await countRows(db)).toEqual(before);
    expect((await db.prisma.ticket.findUniqueOrThrow({ where: { reference } })).channel).toBe('WEB');
  });

    it('a bot filling the honeypot is thanked and nothing is saved; bad input and missing CSRF change nothing', async () => {
    const { agent, csrf } = await visitor('/request');
    const good = { name: 'Bot', email: 'bot@spam.test', title: 'Cheap pills', description: 'Buy now' };
    const res = await expectRefused(db, () => agent.post('/request').type('form').send({ _csrf: csrf, ...good, website: 'http://spam.test' }), 200, 'Your request was received.');
    expect(res.text).not.toMatch(/CB-[0-9A-Z]{7}/);
    await expectRefused(db, () => agent.post('/request').type('form').send({ _csrf: csrf, ...good, email: 'not-an-email' }), 422, 'Enter a valid email address.');
    await expectRefused(db, () => agent.post('/request').type('form').send({ _csrf: csrf, ...good, title: 'x'.repeat(201) }), 422, 'at most 200 characters');
    await expectRefused(db, () => agent.post('/request').type('form').send(good), 403);
  });

  it('suggests public help articles for the summary, never internal ones', async () => {
    const pub = await createArticle(as(db, admin), { title: 'Portal login loop after password change', body: 'Clear the portal cookies.', tags: [], visibility: 'PUBLIC' });
    await setArticleStatus(as(db, admin), pub.id, pub.version, 'PUBLISHED');
    const internal = await createArticle(as(db, admin), { title: 'Portal login loop: internal SSO notes', body: 'Restart the IdP.', tags: [] });
    await setArticleStatus(as(db, admin), internal.id, internal.version, 'PUBLISHED');
    const page = await request(app).get('/request').query({ title: 'portal login loop' }).expect(200);
    expect(page.text).toContain('Portal login loop after password change');
    expect(page.text).not.toContain('internal SSO notes');
    const fragment = await request(app).get('/help/suggest').query({ title: 'portal login' }).expect(200);
    expect(fragment.text).toContain(`/help/${pub.id}`);

    const help = await request(app).get('/help').query({ q: 'portal login' }).expect(200);
    expect(help.text).toContain('Portal login loop after password change');
    expect(help.text).not.toContain('internal SSO notes');
    await request(app).get(`/help/${pub.id}`).expect(200).expect((r) => expect(r.text).toContain('Clear the portal cookies.'));
    await request(app).get(`/help/${internal.id}`).expect(404);
    await request(app).get('/help/not-a-number').expect(404);
  });
});
