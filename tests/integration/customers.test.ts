// Customer records: search, the customer page, edits with their history, and merging duplicates.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import type TestAgent from 'supertest/lib/agent.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { as, buildTicket, buildUser } from '../helpers/factories.js';
import { expectRefused, signIn, testApp } from '../helpers/http.js';
import type { Actor } from '../../src/services/context.js';
import type { Customer } from '../../src/generated/prisma/client.js';
import { generateReference } from '../../src/domain/reference.js';
import { ValidationError } from '../../src/services/errors.js';
import { getCustomerPage } from '../../src/services/customers/customer-page.js';
import { mergeCustomers } from '../../src/services/customers/merge-customers.js';
import { lookupCustomers, searchCustomers } from '../../src/services/customers/search.js';
import { updateCustomer } from '../../src/services/customers/update-customer.js';
import { resolveTicket } from '../../src/services/tickets/resolve-ticket.js';

let db: TestDatabase;
let app: Express;
let tech: Actor;
let admin: Actor;
let techAgent: TestAgent;
let techCsrf: string;
let adminAgent: TestAgent;
let adminCsrf: string;

beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db);
  tech = await buildUser(db, { name: 'Tia Tech' });
  admin = await buildUser(db, { role: 'ADMIN', name: 'Ada Admin' });
  ({ agent: techAgent, csrf: techCsrf } = await signIn(app, tech.email));
  ({ agent: adminAgent, csrf: adminCsrf } = await signIn(app, admin.email));
});
afterAll(() => db?.close());

let counter = 0;
const unique = () => `${Date.now().toString(36)}${(counter++).toString(36)}`;

/** An organization record by name (made the first time). */
const organization = (name: string) =>
  db.prisma.organization.upsert({ where: { nameKey: name.toLowerCase() }, create: { name, nameKey: name.toLowerCase() }, update: {} });

async function customer(
  data: Partial<Pick<Customer, 'name' | 'email' | 'phone' | 'environment' | 'notes'>> & { organization?: string } = {},
) {
  const id = unique();
  const { organization: org, ...rest } = data;
  const organizationId = org ? (await organization(org)).id : null;
  return db.prisma.customer.create({ data: { name: `Cust ${id}`, email: `cust-${id}@example.test`, organizationId, ...rest } });
}
const orgName = async (c: Pick<Customer, 'organizationId'>) =>
  c.organizationId === null ? '' : (await db.prisma.organization.findUniqueOrThrow({ where: { id: c.organizationId } })).name;
const ticketFor = (c: Customer, title = 'Printer prints blank pages') =>
  buildTicket(db, tech, { title, customer: { name: c.name, email: c.email } });
const reload = (id: number) => db.prisma.customer.findUniqueOrThrow({ where: { id } });
const historyOf = (customerId: number) => db.prisma.customerHistory.findMany({ where: { customerId }, orderBy: { id: 'asc' } });

/** Refused with `status` and these texts; no row written anywhere, customer history included. */
async function refused(send: () => PromiseLike<{ status: number; text: string }>, status: number, ...texts: string[]) {
  const before = await db.prisma.customerHistory.count();
  const res = await expectRefused(db, send, status, ...texts);
  expect(await db.prisma.customerHistory.count()).toBe(before);
  return res;
}

const editBody = (c: Customer & { organization?: string }, csrf: string, changes: Record<string, string> = {}) => ({
  _csrf: csrf,
  version: String(c.version),
  name: c.name,
  email: c.email,
  phone: c.phone ?? '',
  organization: c.organization ?? '',
  environment: c.environment ?? '',
  notes: c.notes ?? '',
  ...changes,
});

describe('finding customers', () => {
  it('finds them by part of the name, email or organization, in any case, leaving merged records out', async () => {
    const token = unique();
    const greta = await customer({ name: `Greta ${token}`, organization: `Nordwind ${token}` });
    const bert = await customer({ name: `Bert ${token}x`, email: `bert.${token}@mail.test` });
    const carl = await customer({ name: `Carl Z`, organization: `Acme ${token} GmbH` });
    await customer({ name: `Greta ${token} (old)`, email: `old-${token}@mail.test` }).then((old) =>
      db.prisma.customer.update({ where: { id: old.id }, data: { mergedIntoId: greta.id } }),
    );
    const names = async (filter: Parameters<typeof searchCustomers>[1]) =>
      (await searchCustomers(as(db, tech), filter)).rows.map((r) => r.name);

    expect(await names({ q: `GRETA ${token}` })).toEqual([greta.name]);
    expect(await names({ q: `BERT.${token}@MAIL` })).toEqual([bert.name]);
    expect(await names({ q: `acme ${token}` })).toEqual([carl.name]);
    expect(await names({ q: token.toUpperCase() })).toEqual([bert.name, carl.name, greta.name]);
    expect(await names({ organization: `Nordwind ${token}` })).toEqual([greta.name]);
    expect(await names({ q: `%${token}` })).toEqual([]); // wildcards are text
    expect(await names({ q: `${token}_` })).toEqual([]);

    const page = await techAgent.get(`/customers?q=${token}`).expect(200);
    expect(page.text).toContain(greta.name);
    expect(page.text).not.toContain(`(old)`);
    expect(page.text).toContain(`href="/organizations/${greta.organizationId}"`);
    const org = await techAgent.get(`/customers?organization=${encodeURIComponent(`Nordwind ${token}`)}`).expect(200);
    expect(org.text).toContain(`Customers of Nordwind ${token}`);
    expect(org.text).toContain(greta.name);
    expect(org.text).not.toContain(bert.name);
  });

  it('pages through many matches 50 at a time, in name order', async () => {
    const token = unique();
    await db.prisma.customer.createMany({
      data: Array.from({ length: 55 }, (_, i) => ({ name: `Paged ${token} ${String(i).padStart(2, '0')}`, email: `p${i}-${token}@example.test` })),
    });
    const first = await searchCustomers(as(db, tech), { q: token });
    expect(first.rows).toHaveLength(50);
    expect(first.rows[0]?.name).toBe(`Paged ${token} 00`);
    expect(first.next).toEqual({ name: `Paged ${token} 49`, id: first.rows[49]?.id });
    const second = await searchCustomers(as(db, tech), { q: token, after: first.next! });
    expect(second.rows.map((r) => r.name)).toEqual([50, 51, 52, 53, 54].map((i) => `Paged ${token} ${i}`));
    expect(second.next).toBeNull();

    const page = await techAgent.get(`/customers?q=${token}`).expect(200);
    const next = /href="([^"]+)" rel="next"/.exec(page.text)?.[1]?.replace(/&amp;/g, '&');
    expect(next).toBeDefined();
    const after = await techAgent.get(next!).expect(200);
    expect(after.text).toContain(`Paged ${token} 54`);
    expect(after.text).not.toContain(`Paged ${token} 49`);
    await refused(() => techAgent.get('/customers?after=nonsense'), 400, 'That page link is not valid.');
  });

  it('suggests a few customers as JSON for the new-ticket form', async () => {
    const token = unique();
    const c = await customer({ name: `Lookup ${token}`, phone: '+49 30 1234', organization: 'Lookup Org' });
    const res = await techAgent.get(`/customers/lookup?q=${token}`).expect(200).expect('Content-Type', /json/);
    expect(res.body.customers).toEqual([{ id: c.id, name: c.name, email: c.email, phone: '+49 30 1234', organization: 'Lookup Org' }]);
    expect(await lookupCustomers(as(db, tech), 'a')).toEqual([]); // too short to be useful
    await techAgent.get(`/customers/lookup?q=${'x'.repeat(201)}`).expect(400);
    const form = await techAgent.get('/tickets/new').expect(200);
    expect(form.text).toContain('<script src="/public/js/customer-lookup.js" defer></script>');
    await techAgent.get('/public/js/customer-lookup.js').expect(200).expect('Content-Type', /javascript/);
  });
});

describe('the customer page', () => {
  it('lists open tickets first, newest first, with counts by status', async () => {
    const c = await customer({ environment: 'Windows 11, Office 2021, Gold contract' });
    const older = await ticketFor(c, 'Older open ticket');
    const done = await ticketFor(c, 'Resolved ticket');
    await resolveTicket(as(db, tech), { reference: done.reference, version: done.version }, { code: 'FIXED', note: 'Replaced the toner.' });
    const newer = await ticketFor(c, 'Newer open ticket');

    const view = await getCustomerPage(as(db, tech), c.id);
    expect(view.tickets.map((t) => t.reference)).toEqual([newer.reference, older.reference, done.reference]);
    expect(view.counts).toMatchObject({ active: 2, resolved: 1, closed: 0, total: 3 });

    const page = await techAgent.get(`/customers/${c.id}`).expect(200);
    const at = (s: string) => page.text.indexOf(s);
    expect(at(newer.reference)).toBeGreaterThan(0);
    expect(at(newer.reference)).toBeLessThan(at(older.reference));
    expect(at(older.reference)).toBeLessThan(at(done.reference));
    expect(page.text).toMatch(/Needs work<\/a><\/dt><dd>2<\/dd>/);
    expect(page.text).toMatch(/Resolved<\/a><\/dt><dd>1<\/dd>/);
    expect(page.text).toContain('Windows 11, Office 2021, Gold contract');
    expect(page.text).toContain(`name="version" value="${c.version}"`);
  });

  it('shows at most 100 tickets, with a link to all of them in the queue', async () => {
    const c = await customer();
    await db.prisma.ticket.createMany({
      data: Array.from({ length: 105 }, (_, i) => ({
        reference: generateReference(),
        title: `Bulk ${i}`,
        description: 'x',
        channel: 'EMAIL' as const,
        customerId: c.id,
        teamId: 1,
        createdById: tech.id,
      })),
    });
    const page = await techAgent.get(`/customers/${c.id}`).expect(200);
    expect(page.text.match(/class="ref"/g)).toHaveLength(100);
    expect(page.text).toContain(`href="/tickets?status=all&amp;q=${encodeURIComponent(c.email)}"`);
  });

  it('escapes what was typed, and answers 404 for unknown records', async () => {
    const c = await customer({ name: '<script>alert(1)</script>', notes: '<img src=x onerror=alert(2)>' });
    const page = await techAgent.get(`/customers/${c.id}`).expect(200);
    expect(page.text).not.toContain('<script>alert(1)</script>');
    expect(page.text).not.toContain('<img src=x');
    expect(page.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    await techAgent.get('/customers/999999').expect(404);
    await techAgent.get('/customers/abc').expect(404);
  });
});

describe('editing a customer', () => {
  it('writes one history row per changed field, with the old and new values', async () => {
    const c = await customer({ phone: '111' });
    const orgX = await organization('Org X');
    await techAgent
      .post(`/customers/${c.id}`)
      .type('form')
      .send(editBody(c, techCsrf, { name: 'Renamed Person', email: `  New.${c.email.toUpperCase()} `, organization: 'Org X', environment: 'Windows 11\nOffice 2021' }))
      .expect(303)
      .expect('Location', `/customers/${c.id}?done=customer-saved#history`);
    const after = await reload(c.id);
    expect(after).toMatchObject({ name: 'Renamed Person', email: `new.${c.email}`, phone: '111', organizationId: orgX.id, version: 2 });
    expect((await historyOf(c.id)).map((h) => [h.action, h.field, h.oldValue, h.newValue, h.newRefId, h.actorId])).toEqual([
      ['CHANGED', 'name', c.name, 'Renamed Person', null, tech.id],
      ['CHANGED', 'email', c.email, `new.${c.email}`, null, tech.id],
      ['CHANGED', 'organization', null, 'Org X', orgX.id, tech.id],
      ['CHANGED', 'environment', null, 'Windows 11\nOffice 2021', null, tech.id],
    ]);
    const page = await techAgent.get(`/customers/${c.id}`).expect(200);
    expect(page.text).toContain(`changed the name from ${c.name} to Renamed Person`);
    expect(page.text).toContain('set the organization to Org X');
    expect(page.text).toContain('wrote the environment notes');

    // Saving it unchanged writes nothing and keeps the version.
    await techAgent.post(`/customers/${c.id}`).type('form').send(editBody({ ...after, organization: await orgName(after) }, techCsrf)).expect(303);
    expect((await reload(c.id)).version).toBe(2);
    expect(await historyOf(c.id)).toHaveLength(4);
  });

  it('refuses bad input with a clear message, keeping the input and writing nothing', async () => {
    const c = await customer();
    const other = await customer({ name: 'Owner Of Address' });
    const post = (body: Record<string, string>, target = c.id) => techAgent.post(`/customers/${target}`).type('form').send(body);
    const ok = editBody(c, techCsrf);

    let res = await refused(() => post({ ...ok, name: '', phone: 'kept 555' }), 422, 'A name is required.');
    expect(res.text).toContain('value="kept 555"');
    expect(res.text).toContain('id="name-error"');
    await refused(() => post({ ...ok, name: 'n'.repeat(121) }), 422, 'A name can be at most 120 characters.');
    await refused(() => post({ ...ok, phone: '1'.repeat(41) }), 422, 'A phone number can be at most 40 characters.');
    await refused(() => post({ ...ok, organization: 'o'.repeat(121) }), 422, 'An organization can be at most 120 characters.');
    res = await refused(() => post({ ...ok, organization: 'No Such Org Ltd' }), 422, 'There is no organization named “No Such Org Ltd”');
    expect(res.text).toContain('value="No Such Org Ltd"');
    await refused(() => post({ ...ok, notes: 'x'.repeat(20_001) }), 422, 'The notes can be at most 20000 characters.');
    await refused(() => post({ ...ok, email: 'not-an-email' }), 422, 'Enter a valid email address.');
    await refused(() => post({ ...ok, email: '' }), 422, 'An email is required.');
    res = await refused(() => post({ ...ok, email: other.email.toUpperCase() }), 422, 'This email belongs to another customer record.');
    expect(res.text).toContain('Owner Of Address already has the email');
    await refused(() => post({ ...ok, version: '' }), 422, 'The form is missing its version');
    await refused(() => post(ok, 999_999), 404);
    await refused(() => post(ok, 'abc' as unknown as number), 404);
    await refused(() => techAgent.post(`/customers/${c.id}`).type('form').send({ ...ok, _csrf: 'forged' }), 403);

    // Someone else saved first: the stale form is refused with the record as it is now.
    await adminAgent.post(`/customers/${c.id}`).type('form').send(editBody(c, adminCsrf, { phone: '+1 202 555 0100' })).expect(303);
    res = await refused(() => post({ ...ok, notes: 'My note' }), 409, 'was changed by someone else meanwhile', 'My note', '+1 202 555 0100');
    expect(res.text).toContain(`name="version" value="2"`);
    expect(await reload(c.id)).toMatchObject({ version: 2, notes: null });

    // The service holds the rules too, whoever calls it.
    await expect(updateCustomer(as(db, tech), c.id, 2, { name: '   ', email: c.email })).rejects.toThrow(ValidationError);
    await expect(updateCustomer(as(db, tech), c.id, 2, { name: 'X', email: 'a'.repeat(250) + '@x.io' })).rejects.toThrow(/at most 254/);
  });
});

describe('merging duplicate customers', () => {
  it('moves every ticket with a history row and a new version, fills empty fields, and records MERGED on both', async () => {
    const keep = await customer({ name: 'Dana Keep', environment: 'macOS 14' });
    const dup = await customer({ name: 'Dana Dup', phone: '+49 1', organization: 'Dup Org', environment: 'Windows', notes: 'VIP' });
    const own = await ticketFor(keep, 'Already the kept one');
    const moved1 = await ticketFor(dup, 'First of the duplicate');
    const moved2 = await ticketFor(dup, 'Second of the duplicate');
    await resolveTicket(as(db, tech), { reference: moved2.reference, version: 1 }, { code: 'FIXED', note: 'Done.' });
    const versions = new Map((await db.prisma.ticket.findMany({ where: { customerId: dup.id } })).map((t) => [t.id, t.version]));

    const search = await adminAgent.get(`/customers/${keep.id}/merge?q=Dana%20Dup`).expect(200);
    expect(search.text).toContain(`/customers/${keep.id}/merge?mergeId=${dup.id}`);
    const confirm = await adminAgent.get(`/customers/${keep.id}/merge?mergeId=${dup.id}`).expect(200);
    expect(confirm.text).toContain('Dana Dup');
    expect(confirm.text).toContain(`name="mergeVersion" value="${dup.version}"`);
    expect(confirm.text).toContain('phone, organization, notes');

    await adminAgent
      .post(`/customers/${keep.id}/merge`)
      .type('form')
      .send({ _csrf: adminCsrf, mergeId: String(dup.id), keepVersion: String(keep.version), mergeVersion: String(dup.version) })
      .expect(303)
      .expect('Location', `/customers/${keep.id}?done=customer-merged#history`);

    for (const t of [moved1, moved2]) {
      const row = await db.prisma.ticket.findUniqueOrThrow({ where: { id: t.id } });
      expect(row.customerId).toBe(keep.id);
      expect(row.version).toBe(versions.get(t.id)! + 1);
      const last = await db.prisma.ticketHistory.findFirstOrThrow({ where: { ticketId: t.id }, orderBy: { id: 'desc' } });
      expect(last).toMatchObject({
        action: 'CHANGED',
        field: 'customerId',
        oldRefId: dup.id,
        newRefId: keep.id,
        oldValue: 'Dana Dup',
        newValue: 'Dana Keep',
        actorId: admin.id,
        ticketVersion: row.version,
      });
    }
    expect(await db.prisma.ticket.findUniqueOrThrow({ where: { id: own.id } })).toMatchObject({ version: 1, customerId: keep.id });

    expect(await reload(keep.id)).toMatchObject({ phone: '+49 1', organizationId: dup.organizationId, environment: 'macOS 14', notes: 'VIP', version: 2, mergedIntoId: null });
    expect(await reload(dup.id)).toMatchObject({ mergedIntoId: keep.id, version: 2, phone: '+49 1' });
    expect((await historyOf(keep.id)).map((h) => [h.action, h.field, h.oldValue, h.newValue, h.oldRefId, h.newRefId, h.actorId])).toEqual([
      ['CHANGED', 'phone', null, '+49 1', null, null, admin.id],
      ['CHANGED', 'organization', null, 'Dup Org', null, dup.organizationId, admin.id],
      ['CHANGED', 'notes', null, 'VIP', null, null, admin.id],
      ['MERGED', 'mergedFrom', `Dana Dup <${dup.email}>`, '2', dup.id, keep.id, admin.id],
    ]);
    expect((await historyOf(dup.id)).map((h) => [h.action, h.field, h.oldValue, h.newValue, h.oldRefId, h.newRefId, h.actorId])).toEqual([
      ['MERGED', 'mergedInto', `Dana Keep <${keep.email}>`, '2', dup.id, keep.id, admin.id],
    ]);

    const keptPage = await adminAgent.get(`/customers/${keep.id}`).expect(200);
    expect(keptPage.text).toContain('merged the duplicate record');
    expect(keptPage.text).toContain(moved1.reference);
    const mergedPage = await adminAgent.get(`/customers/${dup.id}`).expect(200);
    expect(mergedPage.text).toContain('This record was merged into');
    expect(mergedPage.text).toContain(`href="/customers/${keep.id}"`);
    expect(mergedPage.text).not.toContain(`action="/customers/${dup.id}"`); // no edit form
    const ticketPage = await adminAgent.get(`/tickets/${moved1.reference}`).expect(200);
    expect(ticketPage.text).toContain('moved it from customer Dana Dup to Dana Keep');
    expect((await searchCustomers(as(db, admin), { q: 'Dana' })).rows.map((r) => r.id)).not.toContain(dup.id);

    // A new ticket from the merged record's address lands on the kept record.
    const later = await buildTicket(db, tech, { customer: { name: 'Dana again', email: dup.email.toUpperCase() } });
    expect(later.customerId).toBe(keep.id);
  });

  it('moves thousands of tickets in one go', async () => {
    const keep = await customer();
    const dup = await customer();
    await db.prisma.ticket.createMany({
      data: Array.from({ length: 2000 }, (_, i) => ({
        reference: generateReference(),
        title: `Many ${i}`,
        description: 'x',
        channel: 'EMAIL' as const,
        customerId: dup.id,
        teamId: 1,
        createdById: tech.id,
      })),
    });
    const result = await mergeCustomers(as(db, admin), { keepId: keep.id, mergeId: dup.id, keepVersion: 1, mergeVersion: 1 });
    expect(result.ticketsMoved).toBe(2000);
    expect(await db.prisma.ticket.count({ where: { customerId: keep.id, version: 2 } })).toBe(2000);
    expect(await db.prisma.ticketHistory.count({ where: { field: 'customerId', oldRefId: dup.id, newRefId: keep.id } })).toBe(2000);
  });

  it('only admins merge: a technician gets 403 and nothing changes', async () => {
    const a = await customer();
    const b = await customer();
    const t = await ticketFor(b);
    await refused(() => techAgent.get(`/customers/${a.id}/merge`), 403);
    await refused(
      () => techAgent.post(`/customers/${a.id}/merge`).type('form').send({ _csrf: techCsrf, mergeId: String(b.id), keepVersion: '1', mergeVersion: '1' }),
      403,
    );
    expect(await db.prisma.ticket.findUniqueOrThrow({ where: { id: t.id } })).toMatchObject({ customerId: b.id, version: 1 });
    expect(await reload(b.id)).toMatchObject({ mergedIntoId: null, version: 1 });
    const page = await techAgent.get(`/customers/${a.id}`).expect(200);
    expect(page.text).not.toContain(`/customers/${a.id}/merge`);
  });

  it('refuses merging a merged record again, a record with itself, unknown records and stale forms', async () => {
    const keep = await customer({ name: 'Kept Once' });
    const dup = await customer({ name: 'Merged Once' });
    await mergeCustomers(as(db, admin), { keepId: keep.id, mergeId: dup.id, keepVersion: 1, mergeVersion: 1 });
    const post = (keepId: number, body: Record<string, string>) =>
      adminAgent.post(`/customers/${keepId}/merge`).type('form').send({ _csrf: adminCsrf, ...body });

    await refused(() => post(keep.id, { mergeId: String(dup.id), keepVersion: '2', mergeVersion: '2' }), 422, 'Merged Once was merged into Kept Once');
    await refused(() => post(dup.id, { mergeId: String(keep.id), keepVersion: '2', mergeVersion: '2' }), 422, 'was merged into');
    await refused(() => adminAgent.get(`/customers/${dup.id}/merge`), 422, 'was merged into');
    await refused(() => post(keep.id, { mergeId: String(keep.id), keepVersion: '2', mergeVersion: '2' }), 422, 'cannot be merged with itself');
    await refused(() => post(keep.id, { keepVersion: '2', mergeVersion: '2' }), 422, 'Choose the duplicate record.');
    await refused(() => post(keep.id, { mergeId: '999999', keepVersion: '2', mergeVersion: '1' }), 404);
    // A merged record cannot be edited either.
    await refused(
      () => adminAgent.post(`/customers/${dup.id}`).type('form').send(editBody(dup, adminCsrf, { version: '2', phone: '123' })),
      422,
      'was merged into',
    );

    // Someone edited the duplicate after the confirm page was shown.
    const other = await customer({ name: 'Stale Dup' });
    const t = await ticketFor(other);
    await updateCustomer(as(db, tech), other.id, 1, { name: 'Stale Dup', email: other.email, phone: '42' });
    const res = await refused(() => post(keep.id, { mergeId: String(other.id), keepVersion: '2', mergeVersion: '1' }), 409, 'changed by someone else');
    expect(res.text).toContain(`name="mergeVersion" value="2"`); // the confirm page, now current
    expect(await db.prisma.ticket.findUniqueOrThrow({ where: { id: t.id } })).toMatchObject({ customerId: other.id, version: 1 });
  });
});
