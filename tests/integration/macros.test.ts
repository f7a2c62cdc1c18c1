// Macros (one change, as the technician, to one ticket or several from the queue) and canned
// replies (placeholders filled; chosen without JavaScript, the reply box comes pre-filled).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import type TestAgent from 'supertest/lib/agent.js';
import { createTestDatabase, countRows, type TestDatabase } from '../helpers/db.js';
import { as, buildTicket, buildUser } from '../helpers/factories.js';
import { csrfOf, signIn, testApp } from '../helpers/http.js';
import type { Actor } from '../../src/services/context.js';
import { applyMacro, createCannedReply, createMacro } from '../../src/services/automation/macros.js';
import { bulkChange } from '../../src/services/tickets/bulk.js';
import { ForbiddenError, ValidationError } from '../../src/services/errors.js';

let db: TestDatabase;
let app: Express;
let admin: Actor;
let tech: Actor;
let agent: TestAgent;
let csrf: string;

beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db);
  admin = await buildUser(db, { role: 'ADMIN', name: 'Ada Admin' });
  tech = await buildUser(db, { name: 'Tom Tech' });
  ({ agent, csrf } = await signIn(app, tech.email));
});
afterAll(() => db?.close());

const fresh = (id: number) => db.prisma.ticket.findUniqueOrThrow({ where: { id } });

describe('macros', () => {
  it('apply as one change by the technician: actions, the reply (placeholders filled), and a row naming the macro', async () => {
    const macro = await createMacro(as(db, admin), {
      name: 'Printer triage',
      shared: true,
      actions: [{ type: 'setOwner', userId: 'me' }, { type: 'setUrgency', urgency: 'HIGH' }, { type: 'addTag', tag: 'printer' }],
      reply: 'Hello {{customer.name}}, {{agent.name}} is on {{ticket.reference}} ("{{ticket.title}}") <no escaping & here>.',
    });
    const t = await buildTicket(db, admin, { customer: { name: 'Dana <D>', email: `dana-${Date.now()}@c.test` } });
    await applyMacro(as(db, tech), { reference: t.reference, version: t.version }, macro.id);
    const now = await fresh(t.id);
    expect(now).toMatchObject({ assigneeId: tech.id, status: 'OPEN', urgency: 'HIGH', tags: ['printer'] });
    const rows = await db.prisma.ticketHistory.findMany({ where: { ticketId: t.id, action: { not: 'CREATED' } } });
    expect(rows.every((h) => h.actorId === tech.id)).toBe(true);
    expect(rows.find((h) => h.action === 'MACRO_APPLIED')).toMatchObject({ newValue: 'Printer triage', newRefId: macro.id });
    const mail = await db.prisma.outboundMail.findFirstOrThrow({ where: { ticketId: t.id, kind: 'REPLY' } });
    expect((mail.payload as { body: string }).body).toBe(`Hello Dana <D>, Tom Tech is on ${t.reference} ("${t.title}") <no escaping & here>.`);
    const entry = await db.prisma.workLogEntry.findFirstOrThrow({ where: { ticketId: t.id, kind: 'REPLY' } });
    expect(entry.authorId).toBe(tech.id);
  });

  it('all or nothing: an action that cannot apply refuses the whole macro, nothing written', async () => {
    const outsider = await buildUser(db, { name: 'Otto' });
    const other = await db.prisma.team.create({ data: { name: `Other ${Date.now()}` } });
    await db.prisma.teamMember.deleteMany({ where: { userId: outsider.id } });
    await db.prisma.teamMember.create({ data: { teamId: other.id, userId: outsider.id } });
    const macro = await createMacro(as(db, tech), { name: 'Bad', shared: false, actions: [{ type: 'addTag', tag: 'x' }, { type: 'setOwner', userId: outsider.id }], reply: null });
    const t = await buildTicket(db, admin);
    const before = await countRows(db);
    await expect(applyMacro(as(db, tech), { reference: t.reference, version: t.version }, macro.id)).rejects.toBeInstanceOf(ValidationError);
    expect(await countRows(db)).toEqual(before);
  });

  it('unknown placeholders are refused when saving; shared ones are admins\', personal ones their owner\'s', async () => {
    const before = await countRows(db);
    await expect(createMacro(as(db, tech), { name: 'X', shared: false, actions: [], reply: 'Hi {{customer.firstname}}' })).rejects.toThrow(/unknown placeholder \{\{customer.firstname\}\}/);
    await expect(createCannedReply(as(db, tech), { name: 'X', shared: false, body: '{{> partial}}' })).rejects.toBeInstanceOf(ValidationError);
    await expect(createMacro(as(db, tech), { name: 'X', shared: true, actions: [{ type: 'addTag', tag: 'x' }], reply: null })).rejects.toBeInstanceOf(ForbiddenError);
    expect(await countRows(db)).toEqual(before);
    // Through the form: a 422 with the message, nothing written.
    const page = await agent.get('/macros/canned/new').expect(200);
    const res = await agent.post('/macros/canned').type('form').send({ _csrf: csrfOf(page.text), name: 'Bad one', body: 'Dear {{customer.nickname}}' }).expect(422);
    expect(res.text).toContain('unknown placeholder {{customer.nickname}}');
    expect(await countRows(db)).toEqual(before);
    // Another technician's personal macro cannot be applied (it is not theirs to see).
    const other = await buildUser(db);
    const mine = await createMacro(as(db, tech), { name: 'Mine', shared: false, actions: [{ type: 'addTag', tag: 'm' }], reply: null });
    const t = await buildTicket(db, admin);
    await expect(applyMacro(as(db, other), { reference: t.reference, version: t.version }, mine.id)).rejects.toThrow(/No such macro/);
  });

  it('applies to several tickets from the queue, each as its own change; the result says what was skipped and why', async () => {
    const macro = await createMacro(as(db, tech), { name: 'Take and tag', shared: false, actions: [{ type: 'setOwner', userId: 'me' }, { type: 'addTag', tag: 'bulk' }], reply: null });
    const a = await buildTicket(db, admin);
    const b = await buildTicket(db, admin);
    const c = await buildTicket(db, admin);
    // c changes after the queue showed it: its owner is someone else now (a conflict on the owner field).
    await db.prisma.$transaction(async () => undefined);
    const { assignTicket } = await import('../../src/services/tickets/assign-ticket.js');
    await assignTicket(as(db, admin), { reference: c.reference, version: c.version }, admin.id);
    const result = await bulkChange(as(db, tech), [a, b, c].map((t) => ({ reference: t.reference, version: t.version })), { kind: 'macro', macroId: macro.id });
    expect(result.changed.sort()).toEqual([a.reference, b.reference].sort());
    expect(result.skipped).toEqual([{ reference: c.reference, reason: 'changed meanwhile by Ada Admin' }]);
    expect((await fresh(a.id)).tags).toEqual(['bulk']);
    expect((await fresh(c.id)).tags).toEqual([]);
    // Through the queue's form.
    const d = await buildTicket(db, admin);
    const queue = await agent.get('/tickets').expect(200);
    expect(queue.text).toContain('Apply macro');
    const res = await agent.post('/tickets/bulk').type('form').send({ _csrf: csrfOf(queue.text), t: `${d.reference}:${d.version}`, action: 'macro', macroId: String(macro.id) });
    expect(res.status).toBe(200);
    expect((await fresh(d.id)).tags).toEqual(['bulk']);
  });

  it('the ticket page applies one (a select and a button) and refuses a missing choice with a 422, nothing written', async () => {
    const macro = await createMacro(as(db, tech), { name: 'Tag it', shared: false, actions: [{ type: 'addTag', tag: 'page' }], reply: null });
    const t = await buildTicket(db, admin);
    const page = await agent.get(`/tickets/${t.reference}`).expect(200);
    expect(page.text).toContain(`<option value="${macro.id}"`);
    const before = await countRows(db);
    await agent.post(`/tickets/${t.reference}/macro`).type('form').send({ _csrf: csrfOf(page.text), version: String(t.version), macroId: '' }).expect(422);
    expect(await countRows(db)).toEqual(before);
    await agent.post(`/tickets/${t.reference}/macro`).type('form').send({ _csrf: csrfOf(page.text), version: String(t.version), macroId: String(macro.id) }).expect(303);
    expect((await fresh(t.id)).tags).toEqual(['page']);
  });
});

describe('canned replies', () => {
  it('without JavaScript, choosing one re-renders the page with the reply box pre-filled (placeholders filled, escaped), writing nothing', async () => {
    const canned = await createCannedReply(as(db, tech), { name: 'Greeting', shared: false, body: 'Dear {{customer.name}},\nabout {{ticket.reference}}: ' });
    const t = await buildTicket(db, admin, { customer: { name: 'Eve <script>', email: `eve-${Date.now()}@c.test` } });
    const before = await countRows(db);
    const plain = await agent.get(`/tickets/${t.reference}`).expect(200);
    expect(plain.text).toContain('Canned reply');
    const res = await agent.get(`/tickets/${t.reference}?canned=${canned.id}`).expect(200);
    const box = /<textarea id="rp-body"[^>]*>([\s\S]*?)<\/textarea>/.exec(res.text)?.[1];
    expect(box).toBe(`Dear Eve &lt;script&gt;,\nabout ${t.reference}: `);
    expect(res.text).not.toContain('Eve <script>');
    expect(await countRows(db)).toMatchObject({ ...before, WorkLogEntry: before.WorkLogEntry, OutboundMail: before.OutboundMail });
    // The script that inserts it at the cursor is a file (CSP: no inline scripts).
    expect(res.text).toContain('<script src="/public/js/canned.js" defer></script>');
  });
});

describe('tags by hand', () => {
  it('add (normalized) and remove, each a history row; bad tags are a 422 with nothing written', async () => {
    const t = await buildTicket(db, admin);
    const page = await agent.get(`/tickets/${t.reference}`).expect(200);
    const token = csrfOf(page.text);
    await agent.post(`/tickets/${t.reference}/tags`).type('form').send({ _csrf: token, tag: '  Billing Q3 ' }).expect(303);
    expect((await fresh(t.id)).tags).toEqual(['billing-q3']);
    const before = await countRows(db);
    await agent.post(`/tickets/${t.reference}/tags`).type('form').send({ _csrf: token, tag: '<b>' }).expect(422);
    await agent.post(`/tickets/${t.reference}/tags`).type('form').send({ _csrf: token, tag: 'x'.repeat(41) }).expect(422);
    expect(await countRows(db)).toEqual(before);
    await agent.post(`/tickets/${t.reference}/untag`).type('form').send({ _csrf: token, tag: 'billing-q3' }).expect(303);
    expect((await fresh(t.id)).tags).toEqual([]);
    const rows = await db.prisma.ticketHistory.findMany({ where: { ticketId: t.id, field: 'tags' }, orderBy: { id: 'asc' } });
    expect(rows.map((h) => [h.oldValue, h.newValue])).toEqual([['', 'billing-q3'], ['billing-q3', '']]);
    void csrf;
  });
});
