// Every ticket form through HTTP: bad input gets a clear 4xx and writes nothing (rows counted).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import type TestAgent from 'supertest/lib/agent.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { buildTicket, buildUser } from '../helpers/factories.js';
import { csrfOf, expectRefused, signIn, testApp } from '../helpers/http.js';
import type { Actor } from '../../src/services/context.js';
import type { Ticket } from '../../src/generated/prisma/client.js';

let db: TestDatabase;
let app: Express;
let tech: Actor;
let retired: Actor;
let agent: TestAgent;
let csrf: string;

beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db);
  tech = await buildUser(db, { name: 'Tia Tech' });
  retired = await buildUser(db, { name: 'Old Timer', active: false });
  ({ agent, csrf } = await signIn(app, tech.email));
});
afterAll(() => db?.close());

const valid = () => ({
  title: 'Outlook crashes on start',
  description: 'Crashes right after the splash screen.',
  urgency: 'HIGH',
  channel: 'PHONE',
  customerName: 'Ola Customer',
  customerEmail: 'ola@example.com',
});

const refused = (send: () => PromiseLike<{ status: number; text: string }>, status: number, ...texts: string[]) =>
  expectRefused(db, send, status, ...texts);

describe('new ticket form', () => {
  const post = (body: Record<string, unknown>) => agent.post('/tickets').type('form').send(body);

  it('renders with a label for every field', async () => {
    const res = await agent.get('/tickets/new').expect(200);
    for (const id of ['customerName', 'customerEmail', 'customerPhone', 'customerOrganization', 'title', 'description', 'urgency', 'channel', 'environment', 'occurrence', 'workaround', 'assignToMe']) {
      expect(res.text).toContain(`for="${id}"`);
    }
  });

  it('missing fields: 422, each message beside its field, and the input kept', async () => {
    const { title: _t, description: _d, ...rest } = valid();
    const res = await refused(() => post({ _csrf: csrf, ...rest, customerName: 'Kept Name' }), 422, 'A title is required.', 'A description is required.');
    expect(res.text).toContain('value="Kept Name"');
    expect(res.text).toContain('id="title-error"');
  });

  it('over-long text, unknown enum values and a bad email: 422', async () => {
    await refused(() => post({ _csrf: csrf, ...valid(), title: 'x'.repeat(201) }), 422, 'A title can be at most 200 characters.');
    await refused(() => post({ _csrf: csrf, ...valid(), description: 'x'.repeat(20_001) }), 422, 'at most 20000 characters');
    await refused(() => post({ _csrf: csrf, ...valid(), urgency: 'URGENT' }), 422, 'Choose a valid urgency.');
    await refused(() => post({ _csrf: csrf, ...valid(), channel: 'PIGEON' }), 422, 'Choose a valid channel.');
    await refused(() => post({ _csrf: csrf, ...valid(), customerEmail: 'not-an-email' }), 422, 'Enter a valid email address.');
    await refused(() => post({ _csrf: csrf, ...valid(), title: ['a', 'b'] }), 422);
  });

  it('without a CSRF token, or with a wrong one: 403', async () => {
    await refused(() => post(valid()), 403, 'This form has expired');
    await refused(() => post({ ...valid(), _csrf: 'forged' }), 403);
  });

  it('a body larger than allowed: 413', async () => {
    await refused(() => post({ _csrf: csrf, ...valid(), description: 'x'.repeat(300_000) }), 413);
  });

  it('valid input: 303 to the ticket page, escaped output everywhere', async () => {
    const res = await post({ _csrf: csrf, ...valid(), title: '<script>alert(1)</script> printer' }).expect(303);
    const page = await agent.get(res.headers.location as string).expect(200);
    expect(page.text).not.toContain('<script>alert(1)</script>');
    expect(page.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt; printer');
    const queue = await agent.get('/tickets').expect(200);
    expect(queue.text).not.toContain('<script>alert(1)</script>');
  });
});

describe('ticket page and its actions', () => {
  let t: Ticket;
  const act = (action: string, body: Record<string, unknown>, reference = t.reference) =>
    agent.post(`/tickets/${reference}/${action}`).type('form').send({ _csrf: csrf, ...body });

  beforeAll(async () => {
    t = await buildTicket(db, tech);
  });

  it('unknown or malformed references: 404 page, nothing written', async () => {
    await agent.get('/tickets/CB-0000000').expect(404);
    const res = await agent.get('/tickets/not-a-reference').expect(404);
    expect(res.text).toContain('No ticket has the reference not-a-reference');
    await refused(() => act('urgency', { version: 1, urgency: 'HIGH' }, 'CB-0000000'), 404);
    await refused(() => act('worklog', { kind: 'NOTE', body: 'x' }, 'CB-0000000'), 404);
  });

  it("the Problem section links the customer's name to their page, escaped", async () => {
    const u = await buildTicket(db, tech, { customer: { name: 'Zoë <i>O\'Hara</i> & Co', email: `zoe-${Date.now()}@customer.test` } });
    const res = await agent.get(`/tickets/${u.reference}`).expect(200);
    const problem = res.text.slice(res.text.indexOf('id="problem-details"'), res.text.indexOf('</dl>', res.text.indexOf('id="problem-details"')));
    expect(problem).toContain(`<dt>Customer</dt>`);
    expect(problem).toMatch(new RegExp(`<dd><a href="/customers/${u.customerId}">Zoë &lt;i&gt;O&#39;Hara&lt;/i&gt; &amp; Co</a> · `));
    expect(res.text).not.toContain('<i>O');
  });

  it('the resolve form says the resolution note goes to the customer, tied to the field', async () => {
    const hint = 'Sent to the customer by mail and shown on their page.';
    const described = (html: string) => html.match(/<textarea id="res-resolutionNote"[^>]*aria-describedby="([^"]*)"/)?.[1];
    const page = await agent.get(`/tickets/${t.reference}`).expect(200);
    expect(page.text).toContain(`<p class="hint" id="res-resolutionNote-hint">${hint}</p>`);
    expect(described(page.text)).toBe('res-resolutionNote-hint');
    // Still there, beside the error, when the form comes back refused.
    const res = await refused(() => act('resolve', { version: t.version, resolutionCode: 'FIXED', resolutionNote: ' ' }), 422);
    expect(res.text).toContain(hint);
    expect(described(res.text)).toBe('res-resolutionNote-error res-resolutionNote-hint');
  });

  it('a reference typed loosely redirects to its canonical address', async () => {
    const res = await agent.get(`/tickets/${t.reference.toLowerCase()}`).expect(301);
    expect(res.headers.location).toBe(`/tickets/${t.reference}`);
  });

  it('each action refuses bad input with 422 and the reason, writing nothing', async () => {
    await refused(() => act('urgency', { urgency: 'HIGH' }), 422, 'missing its version');
    await refused(() => act('urgency', { version: t.version, urgency: 'PANIC' }), 422, 'Choose a valid urgency.');
    await refused(() => act('status', { version: t.version, status: 'WAITING_ON_CUSTOMER' }), 422, 'From New it can go to: Open, In progress, Resolved.');
    await refused(() => act('assign', { version: t.version, assigneeId: 'abc' }), 422, 'Choose someone from the list.');
    await refused(() => act('assign', { version: t.version, assigneeId: retired.id }), 422, 'Old Timer is deactivated');
    await refused(() => act('resolve', { version: t.version, resolutionCode: 'FIXED', resolutionNote: '' }), 422, 'A resolution note is required.');
    await refused(() => act('resolve', { version: t.version, resolutionCode: 'MAGIC', resolutionNote: 'x' }), 422, 'Choose a valid resolution.');
    await refused(() => act('resolve', { version: t.version, resolutionCode: '', resolutionNote: 'x' }), 422, 'Choose a resolution.');
    await refused(
      () => act('resolve', { version: t.version, resolutionCode: 'DUPLICATE', resolutionNote: 'same', duplicateOf: 'CB-ZZZZZZZ' }),
      422,
      'No ticket has the reference CB-ZZZZZZZ.',
      'value="CB-ZZZZZZZ"', // what the user typed stays in the form
    );
    await refused(() => act('reopen', { version: t.version }), 422, 'cannot go from New to Open');
    await refused(() => act('worklog', { kind: 'ATTEMPTED_FIX', body: 'Reinstalled' }), 422, 'Say how the attempted fix went.');
    await refused(() => act('worklog', { kind: 'NOTE', body: ' ' }), 422, 'The note is required.');
    await refused(() => act('details', { version: t.version, title: 'ok', description: 'x'.repeat(20_001), channel: 'PHONE' }), 422, 'at most 20000 characters');
  });

  it('a stale form that changes a field a colleague changed meanwhile: 409 page with what changed, the input kept', async () => {
    const other = await buildUser(db, { name: 'Quick Colleague' });
    const { agent: colleague, csrf: theirCsrf } = await signIn(app, other.email);
    const fresh = await buildTicket(db, tech);
    // Both open the page at version 1; the colleague saves first: the description.
    const theirs = 'The colleague’s description, saved first.';
    await colleague
      .post(`/tickets/${fresh.reference}/details`)
      .type('form')
      .send({ _csrf: theirCsrf, version: 1, title: fresh.title, description: theirs, channel: 'PHONE' })
      .expect(303);
    const mine = 'My careful rewrite of the description, typed for ten minutes.';
    const res = await refused(
      () =>
        agent
          .post(`/tickets/${fresh.reference}/details`)
          .type('form')
          .send({ _csrf: csrf, version: 1, title: fresh.title, description: mine, channel: 'PHONE' }),
      409,
      'Someone changed',
      'The description of ticket',
      'Quick Colleague',
      'edited the description',
      mine,
      'name="version" value="2"',
    );
    expect(res.text).toContain(`action="/tickets/${fresh.reference}/details"`);
    // Re-sending from the conflict page (now at version 2) is the user's decision: it goes through.
    await agent
      .post(`/tickets/${fresh.reference}/details`)
      .type('form')
      .send({ _csrf: csrf, version: 2, title: fresh.title, description: mine, channel: 'PHONE' })
      .expect(303);
    const saved = await db.prisma.ticket.findUniqueOrThrow({ where: { id: fresh.id } });
    expect(saved).toMatchObject({ description: mine, version: 3 });
  });

  it('a stale form that changes only other fields goes through, and never puts back a colleague\'s value', async () => {
    const other = await buildUser(db, { name: 'Tab A' });
    const { agent: colleague, csrf: theirCsrf } = await signIn(app, other.email);
    const fresh = await buildTicket(db, tech, { title: 'Printer offline' });
    // Tab A, from version 1: a new title and a higher urgency.
    await colleague.post(`/tickets/${fresh.reference}/details`).type('form')
      .send({ _csrf: theirCsrf, version: 1, title: 'Printer offline on floor 3', description: fresh.description, channel: 'PHONE' }).expect(303);
    await colleague.post(`/tickets/${fresh.reference}/urgency`).type('form').send({ _csrf: theirCsrf, version: 2, urgency: 'HIGH' }).expect(303);
    // Tab B, still at version 1: the environment (its form holds the old title) and then the owner.
    await agent.post(`/tickets/${fresh.reference}/details`).type('form')
      .send({ _csrf: csrf, version: 1, title: 'Printer offline', description: `${fresh.description.replace(/\n/g, '\r\n')}`, channel: 'PHONE', environment: 'Windows 11, HP 4050' })
      .expect(303);
    await agent.post(`/tickets/${fresh.reference}/assign`).type('form').send({ _csrf: csrf, version: 1, assigneeId: other.id }).expect(303);
    const saved = await db.prisma.ticket.findUniqueOrThrow({ where: { id: fresh.id } });
    expect(saved).toMatchObject({ title: 'Printer offline on floor 3', urgency: 'HIGH', environment: 'Windows 11, HP 4050', assigneeId: other.id, status: 'OPEN', version: 5 });
    const rows = await db.prisma.ticketHistory.findMany({ where: { ticketId: fresh.id, ticketVersion: { gte: 4 } }, orderBy: { id: 'asc' } });
    // (Giving a New ticket an owner opens it: its status row comes with the owner's.)
    expect(rows.map((r) => [r.ticketVersion, r.field, r.actorId])).toEqual([[4, 'environment', tech.id], [5, 'status', tech.id], [5, 'assigneeId', tech.id]]);
    // A stale urgency form that picks another urgency than tab A's: a conflict, nothing written.
    await refused(() => agent.post(`/tickets/${fresh.reference}/urgency`).type('form').send({ _csrf: csrf, version: 1, urgency: 'LOW' }), 409, 'The urgency of ticket');
  });

  it('the conflict page sends back what the user did not change as it is now ("apply my change" restores nothing)', async () => {
    const other = await buildUser(db, { name: 'Tab C' });
    const { agent: colleague, csrf: theirCsrf } = await signIn(app, other.email);
    const fresh = await buildTicket(db, tech, { title: 'Scanner jams' });
    await colleague.post(`/tickets/${fresh.reference}/details`).type('form')
      .send({ _csrf: theirCsrf, version: 1, title: 'Scanner jams on A3', description: 'Theirs.', channel: 'PHONE' }).expect(303);
    // Mine: the description (a conflict) from version 1, with the title as it was then.
    const page = await agent.post(`/tickets/${fresh.reference}/details`).type('form')
      .send({ _csrf: csrf, version: 1, title: 'Scanner jams', description: 'Mine.', channel: 'PHONE' }).expect(409);
    expect(page.text).toContain('value="Scanner jams on A3"');
    expect(page.text).not.toContain('value="Scanner jams"');
    expect(page.text).toContain('>Mine.</textarea>');
  });
});

describe('queue page', () => {
  it('shows rows, counts and filters; bad filters get a 400 with a message', async () => {
    const t = await buildTicket(db, tech, { title: 'Queue page shows me', urgency: 'CRITICAL' });
    const res = await agent.get('/tickets').expect(200);
    expect(res.text).toContain(t.reference);
    expect(res.text).toContain('Queue page shows me');
    expect(res.text).toMatch(/Critical <strong>\d+<\/strong>/);
    const found = await agent.get(`/tickets?q=${encodeURIComponent('shows me')}&assignee=anyone&status=all`).expect(200);
    expect(found.text).toContain(t.reference);
    const none = await agent.get('/tickets?assignee=unassigned&urgency=NONE&q=zzzz-no-such').expect(200);
    expect(none.text).toContain('No tickets match these filters.');
    const bad = await agent.get('/tickets?urgency=BOGUS').expect(400);
    expect(bad.text).toContain('Choose a valid urgency.');
    await agent.get('/tickets?after=garbage').expect(400);
    await agent.get('/tickets?q=' + 'x'.repeat(201)).expect(400);
  });

  it('the page after the last comes from a cursor link', async () => {
    for (let i = 0; i < 51; i++) await buildTicket(db, tech, { urgency: 'NONE' });
    const first = await agent.get('/tickets?urgency=NONE').expect(200);
    const next = /href="(\/tickets\?[^"]*after=[^"]+)"/.exec(first.text)?.[1]?.replace(/&amp;/g, '&');
    expect(next).toBeDefined();
    const second = await agent.get(next!).expect(200);
    expect(csrfOf(second.text)).toBe(csrf);
    const refs = (html: string) => [...html.matchAll(/class="ref" href="\/tickets\/(CB-[^"]+)"/g)].map((m) => m[1]);
    expect(refs(first.text)).toHaveLength(50);
    expect(refs(second.text).length).toBeGreaterThan(0);
    expect(refs(second.text).filter((r) => refs(first.text).includes(r))).toEqual([]);
  });
});
