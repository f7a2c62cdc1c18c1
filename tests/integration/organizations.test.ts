// Organizations as records: the migration of the old free-text names, domains that new customers
// join by, the staff pages (admins edit, technicians read), the append-only history, and ticket
// sharing between an organization's customers on their private links.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { as, buildTicket, buildUser } from '../helpers/factories.js';
import { confirmLink, expectRefused, signIn, testApp } from '../helpers/http.js';
import { testMessageIds } from '../helpers/inbound.js';
import type { Actor } from '../../src/services/context.js';
import { migrate, readMigrations } from '../../src/db/migrate.js';
import { ForbiddenError, ValidationError } from '../../src/services/errors.js';
import { createOrganization, updateOrganization } from '../../src/services/organizations/manage-organizations.js';
import { isPublicMailDomain, normalizeDomain } from '../../src/services/organizations/rules.js';
import { submitWebRequest } from '../../src/services/public/web-request.js';
import { issueAccessToken } from '../../src/services/public/access-links.js';
import { receiveMail } from '../../src/services/mail/inbound.js';
import { turnIntoTicket } from '../../src/services/mail/quarantine.js';
import { addWorkLog } from '../../src/services/tickets/add-work-log.js';

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
const unique = () => `${Date.now().toString(36)}${(counter++).toString(36)}${randomBytes(2).toString('hex')}`;
/** A fresh domain of its own for each test. */
const domain = () => `org-${unique()}.test`;

const newOrg = (name: string, domains: string[] = [], extra: { shareTickets?: boolean } = {}) =>
  createOrganization(as(db, admin), { name, domains, ...extra });
const customerOf = (email: string) => db.prisma.customer.findUniqueOrThrow({ where: { email } });
const orgHistory = (organizationId: number) =>
  db.prisma.organizationHistory.findMany({ where: { organizationId }, orderBy: { id: 'asc' } });

describe('the migration of organization names', () => {
  it('makes one record per name (trimmed, any case), links every customer, and keeps each other spelling in history', async () => {
    const empty = await createTestDatabase({ empty: true });
    try {
      const files = readMigrations();
      const mine = files.findIndex((f) => f.name === '20261207020000_organizations');
      expect(mine).toBeGreaterThan(0);
      await migrate(empty.pool, files.slice(0, mine));
      // Customers as they were: free text, with stray spaces and differing case.
      const old: [string, string | null][] = [
        ['a1@acme.test', 'Acme GmbH'],
        ['a2@acme.test', 'Acme GmbH'],
        ['a3@acme.test', '  acme gmbh '],
        ['a4@acme.test', 'ACME GMBH'],
        ['b1@beta.test', 'Beta & Söhne'],
        ['w1@none.test', '   '],
        ['n1@none.test', null],
      ];
      for (const [email, organization] of old) {
        await empty.pool.query(`INSERT INTO "Customer" (name, email, organization) VALUES ($1, $1, $2)`, [email, organization]);
      }
      await migrate(empty.pool, files);

      const { rows: orgs } = await empty.pool.query(`SELECT id, name, "nameKey" FROM "Organization" ORDER BY "nameKey"`);
      expect(orgs.map((o) => [o.name, o.nameKey])).toEqual([
        ['Acme GmbH', 'acme gmbh'], // the most frequent spelling
        ['Beta & Söhne', 'beta & söhne'],
      ]);
      const [acme, beta] = orgs;
      const { rows: customers } = await empty.pool.query(`SELECT email, "organizationId" FROM "Customer" ORDER BY email`);
      expect(customers).toEqual([
        { email: 'a1@acme.test', organizationId: acme.id },
        { email: 'a2@acme.test', organizationId: acme.id },
        { email: 'a3@acme.test', organizationId: acme.id },
        { email: 'a4@acme.test', organizationId: acme.id },
        { email: 'b1@beta.test', organizationId: beta.id },
        { email: 'n1@none.test', organizationId: null },
        { email: 'w1@none.test', organizationId: null },
      ]);
      // The spellings a record did not keep stay in the customers' history (actor: nobody).
      const { rows: history } = await empty.pool.query(`
        SELECT c.email, h.action::text, h.field, h."oldValue", h."newValue", h."newRefId", h."actorId"
          FROM "CustomerHistory" h JOIN "Customer" c ON c.id = h."customerId" ORDER BY c.email`);
      expect(history).toEqual([
        { email: 'a3@acme.test', action: 'CHANGED', field: 'organization', oldValue: '  acme gmbh ', newValue: 'Acme GmbH', newRefId: acme.id, actorId: null },
        { email: 'a4@acme.test', action: 'CHANGED', field: 'organization', oldValue: 'ACME GMBH', newValue: 'Acme GmbH', newRefId: acme.id, actorId: null },
      ]);
      const { rows: created } = await empty.pool.query(`
        SELECT "organizationId", action::text, field, "oldValue", "newValue" FROM "OrganizationHistory" ORDER BY "organizationId"`);
      expect(created).toEqual([
        { organizationId: acme.id, action: 'CREATED', field: 'migrated', oldValue: '  acme gmbh \nACME GMBH\nAcme GmbH', newValue: 'Acme GmbH' },
        { organizationId: beta.id, action: 'CREATED', field: 'migrated', oldValue: null, newValue: 'Beta & Söhne' },
      ]);
      // The old column is gone; the names are unique whatever their case.
      const { rows: cols } = await empty.pool.query(
        `SELECT 1 FROM information_schema.columns WHERE table_name = 'Customer' AND column_name = 'organization'`,
      );
      expect(cols).toEqual([]);
      await expect(empty.pool.query(`INSERT INTO "Organization" (name, "nameKey") VALUES ('ACME gmbh', 'acme gmbh')`)).rejects.toThrow(/Organization_nameKey_key/);
      // The key is PostgreSQL's lower() of the name, whatever a writer sends.
      const { rows: [gamma] } = await empty.pool.query(`INSERT INTO "Organization" (name, "nameKey") VALUES ('GAMMA', 'x') RETURNING "nameKey"`);
      expect(gamma.nameKey).toBe('gamma');
      await expect(empty.pool.query(`UPDATE "Organization" SET name = 'ACME GMBH' WHERE name = 'GAMMA'`)).rejects.toThrow(/Organization_nameKey_key/);
    } finally {
      await empty.close();
    }
    // Every migration from scratch, twice over: slow on the embedded database (it runs on this thread).
  }, 240_000);
});

describe('domains', () => {
  it('refuses public mail services, and keeps a domain lower-case, in punycode, with one organization', async () => {
    for (const d of ['gmail.com', 'GMAIL.COM', 'outlook.com', 'hotmail.com', 'icloud.com', 'yahoo.com', 'yahoo.co.uk', 'gmx.de', 'gmx.net', 'web.de', 'mail.gmail.com']) {
      expect(isPublicMailDomain(d.toLowerCase()), d).toBe(true);
      expect(() => normalizeDomain(d)).toThrow(/public mail service/);
    }
    for (const d of ['acme.com', 'gmx-consulting.de', 'outlookhotel.com', 'yahoo-fans.example.org']) expect(isPublicMailDomain(d), d).toBe(false);
    expect(normalizeDomain(' @Bücher.Example ')).toBe('xn--bcher-kva.example');
    for (const bad of ['localhost', 'a b.com', '-x.com', 'x..com', '1.2.3.4', 'ex@mple.com']) {
      expect(() => normalizeDomain(bad), bad).toThrow(ValidationError);
    }
    // The database holds the rule too: one organization per domain, lower-case.
    const a = await newOrg(`Holder ${unique()}`);
    const d = domain();
    await db.pool.query(`INSERT INTO "OrganizationDomain" (domain, "organizationId") VALUES ($1, $2)`, [d, a.id]);
    await expect(db.pool.query(`INSERT INTO "OrganizationDomain" (domain, "organizationId") VALUES ($1, $2)`, [d, a.id])).rejects.toThrow(/OrganizationDomain_domain_key/);
    await expect(db.pool.query(`INSERT INTO "OrganizationDomain" (domain, "organizationId") VALUES ($1, $2)`, [d.toUpperCase(), a.id])).rejects.toThrow(/OrganizationDomain_domain_check/);
  });
});

describe('a new customer joins by the domain of their address', () => {
  it('on the staff form, the web form, by mail and from the quarantine, recorded in both histories with no actor; an IDN address too', async () => {
    const d = domain();
    const idn = `bücher-${unique()}.test`;
    const org = await newOrg(`Joinable ${unique()}`, [d, idn]);

    // Staff's new-ticket form.
    const staffEmail = `staff.made@${d.toUpperCase()}`;
    await techAgent.post('/tickets').type('form').send({
      _csrf: techCsrf, customerName: 'Sam Staffmade', customerEmail: staffEmail, customerPhone: '', customerOrganization: '',
      title: 'VPN drops', description: 'Every hour.', urgency: 'NORMAL', channel: 'PHONE',
    }).expect(303);
    // The public web form.
    await submitWebRequest(db.prisma, { name: 'Wes Web', email: `wes@${d}`, title: 'Printer', description: 'Jams.' });
    // Inbound mail, from an internationalised domain as mail clients write it.
    const mailFrom = `mia@${idn}`;
    await receiveMail(db.prisma, testMessageIds(), {
      messageId: `<${unique()}@${idn}>`, from: { address: mailFrom, name: 'Mia Mail' }, envelopeSender: mailFrom,
      subject: 'Cannot log in', text: 'Since Monday.', inReplyTo: null, references: [], headers: {},
    }, { ownAddress: 'support@caseboard.test', maxNewPerHour: 100 });

    // A quarantined message staff turn into a ticket.
    const held = await db.prisma.inboundMail.create({
      data: { messageId: `<${unique()}@${d}>`, fromAddress: `quinn@${d}`, fromName: 'Quinn Quarantined', subject: 'Held', body: 'Held mail.', state: 'QUARANTINED', reason: 'Test.' },
    });
    await turnIntoTicket(as(db, tech), held.id);

    for (const email of [staffEmail.toLowerCase(), `wes@${d}`, mailFrom, `quinn@${d}`]) {
      const c = await customerOf(email);
      expect(c.organizationId, email).toBe(org.id);
      const rows = await db.prisma.customerHistory.findMany({ where: { customerId: c.id } });
      expect(rows.map((h) => [h.action, h.field, h.newValue, h.newRefId, h.actorId])).toEqual([['LINKED', 'organization', org.name, org.id, null]]);
    }
    const joined = (await orgHistory(org.id)).filter((h) => h.field === 'customer');
    expect(joined.map((h) => [h.action, h.newValue, h.actorId])).toEqual([
      ['LINKED', staffEmail.toLowerCase(), null],
      ['LINKED', `wes@${d}`, null],
      ['LINKED', mailFrom, null],
      ['LINKED', `quinn@${d}`, null],
    ]);

    // Pages say how they joined.
    const c = await customerOf(`wes@${d}`);
    const page = await techAgent.get(`/customers/${c.id}`).expect(200);
    expect(page.text).toContain(`href="/organizations/${org.id}"`);
    expect(page.text).toContain('the domain of their address is the organization’s');
    const orgPage = await techAgent.get(`/organizations/${org.id}`).expect(200);
    expect(orgPage.text).toContain('Wes Web');
    expect(orgPage.text).toContain('(the domain of the address)');
  });

  it('only when the record is created: another domain, a subdomain, an existing customer and staff’s own choice are left alone', async () => {
    const d = domain();
    const org = await newOrg(`Strict ${unique()}`, [d]);
    const other = await newOrg(`Chosen ${unique()}`);
    const existing = await buildTicket(db, tech, { customer: { name: 'Early Bird', email: `early-${unique()}@elsewhere.test` } });
    const early = await db.prisma.customer.findUniqueOrThrow({ where: { id: existing.customerId } });
    await buildTicket(db, tech, { customer: { name: 'Sub', email: `sub@mail.${d}` } });
    await buildTicket(db, tech, { customer: { name: 'Chosen', email: `chosen@${d}`, organization: other.name.toUpperCase() } });
    expect((await customerOf(`sub@mail.${d}`)).organizationId).toBeNull();
    const chosen = await customerOf(`chosen@${d}`);
    expect(chosen.organizationId).toBe(other.id);
    expect((await db.prisma.customerHistory.findFirstOrThrow({ where: { customerId: chosen.id } }))).toMatchObject({ action: 'CHANGED', newRefId: other.id, actorId: tech.id });
    // Adding the existing customer's domain later moves nobody.
    await updateOrganization(as(db, admin), org.id, org.version, { name: org.name, domains: [d, early.email.split('@')[1]!] });
    expect((await db.prisma.customer.findUniqueOrThrow({ where: { id: early.id } })).organizationId).toBeNull();
    // A second ticket of a customer who joined keeps them where they are, with no new rows.
    await buildTicket(db, tech, { customer: { name: 'Chosen', email: `chosen@${d}` } });
    expect(await db.prisma.customerHistory.count({ where: { customerId: chosen.id } })).toBe(1);
  });

  it('refuses an unknown organization on the staff form with a clear message, writing nothing', async () => {
    await expectRefused(db, () => techAgent.post('/tickets').type('form').send({
      _csrf: techCsrf, customerName: 'Nora New', customerEmail: `nora-${unique()}@x.test`, customerPhone: '', customerOrganization: 'Nowhere Ltd',
      title: 'Broken', description: 'Really.', urgency: 'NORMAL', channel: 'PHONE',
    }), 422, 'There is no organization named “Nowhere Ltd”');
  });
});

describe('the organization pages', () => {
  it('lists organizations with their people and open tickets, and finds them by part of the name', async () => {
    const token = unique();
    const d = domain();
    const org = await newOrg(`Listed ${token} AG`, [d]);
    await buildTicket(db, tech, { customer: { name: 'Lou One', email: `lou@${d}` } });
    await buildTicket(db, tech, { customer: { name: 'Lou One', email: `lou@${d}` } });
    await buildTicket(db, tech, { customer: { name: 'Max Two', email: `max@${d}` } });
    const page = await techAgent.get(`/organizations?q=${token.toUpperCase()}`).expect(200);
    expect(page.text).toContain(`href="/organizations/${org.id}"`);
    expect(page.text).toMatch(/data-label="People">2<\/td>\s*<td data-label="Open tickets">3</);
    expect(page.text).toContain(d);
    expect(page.text).not.toContain('href="/organizations/new"'); // technicians read only
    const none = await techAgent.get(`/organizations?q=nothing-${token}`).expect(200);
    expect(none.text).toContain('No organization’s name contains');
    // Customers are found by part of their organization's name too.
    const customers = await techAgent.get(`/customers?q=${token}`).expect(200);
    expect(customers.text).toContain('Lou One');
    expect(customers.text).toContain('Max Two');
    // The queue and the ticket page show the organization's name.
    const queue = await techAgent.get(`/tickets?q=${encodeURIComponent(`lou@${d}`)}`).expect(200);
    expect(queue.text).toContain(`Listed ${token} AG`);
  });

  it('shows the details, its people and its tickets open first with counts, capped', async () => {
    const d = domain();
    const org = await newOrg(`Busy ${unique()}`, [d]);
    const done = await buildTicket(db, tech, { title: 'Old solved one', customer: { name: 'Pat Person', email: `pat@${d}` } });
    await db.pool.query(`UPDATE "Ticket" SET status = 'CLOSED' WHERE id = $1`, [done.id]);
    const open = await buildTicket(db, tech, { title: 'Newest open one', customer: { name: 'Pat Person', email: `pat@${d}` } });
    const page = await techAgent.get(`/organizations/${org.id}`).expect(200);
    expect(page.text).toContain('Pat Person');
    expect(page.text).toContain('Tickets <small class="muted">(2)</small>');
    expect(page.text.indexOf(open.reference)).toBeLessThan(page.text.indexOf(done.reference));
    expect(page.text).toContain('1 open ticket');
    await techAgent.get('/organizations/999999999').expect(404);
    await techAgent.get('/organizations/abc').expect(404);
  });

  it('lets admins add and edit organizations (history rows for each change), technicians only read', async () => {
    const name = `Made ${unique()}`;
    const d1 = domain();
    const d2 = domain();
    const form = await adminAgent.get('/organizations/new').expect(200);
    expect(form.text).toContain('name="domains"');
    const created = await adminAgent.post('/organizations').type('form')
      .send({ _csrf: adminCsrf, name: `  ${name} `, domains: `${d1.toUpperCase()}\n${d2}, ${d1}`, environment: 'Windows 11', contract: '' })
      .expect(303);
    const id = Number(/\/organizations\/(\d+)\?done=organization-created/.exec(created.headers.location!)?.[1]);
    const org = await db.prisma.organization.findUniqueOrThrow({ where: { id }, include: { domains: { orderBy: { domain: 'asc' } } } });
    expect(org).toMatchObject({ name, nameKey: name.toLowerCase(), environment: 'Windows 11', contract: null, shareTickets: false, version: 1 });
    expect(org.domains.map((x) => x.domain)).toEqual([d1, d2].sort());
    expect((await adminAgent.get(created.headers.location!).expect(200)).text).toContain('Organization created.');

    const edit = await adminAgent.get(`/organizations/${id}/edit`).expect(200);
    expect(edit.text).toContain(`name="version" value="1"`);
    await adminAgent.post(`/organizations/${id}`).type('form')
      .send({ _csrf: adminCsrf, version: '1', name, domains: d2, environment: 'Windows 11', contract: 'Gold, 24/7', shareTickets: '1' })
      .expect(303).expect('Location', `/organizations/${id}?done=organization-saved`);
    expect(await db.prisma.organization.findUniqueOrThrow({ where: { id } })).toMatchObject({ contract: 'Gold, 24/7', shareTickets: true, version: 2 });
    expect((await orgHistory(id)).map((h) => [h.action, h.field, h.oldValue, h.newValue, h.actorId])).toEqual([
      ['CREATED', 'name', null, name, admin.id],
      ['LINKED', 'domain', null, d1, admin.id],
      ['LINKED', 'domain', null, d2, admin.id],
      ['CHANGED', 'contract', null, 'Gold, 24/7', admin.id],
      ['CHANGED', 'shareTickets', 'false', 'true', admin.id],
      ['UNLINKED', 'domain', d1, null, admin.id],
    ]);
    const page = await techAgent.get(`/organizations/${id}`).expect(200);
    expect(page.text).toContain(`removed the domain ${d1}`);
    expect(page.text).not.toContain(`/organizations/${id}/edit`);

    // Technicians: 403 on every admin page and form, and nothing written.
    await expectRefused(db, () => techAgent.get('/organizations/new'), 403);
    await expectRefused(db, () => techAgent.get(`/organizations/${id}/edit`), 403);
    await expectRefused(db, () => techAgent.post('/organizations').type('form').send({ _csrf: techCsrf, name: `Tech ${unique()}` }), 403);
    await expectRefused(db, () => techAgent.post(`/organizations/${id}`).type('form').send({ _csrf: techCsrf, version: '2', name: 'Hijacked' }), 403);
    await expect(createOrganization(as(db, tech), { name: 'By service' })).rejects.toThrow(ForbiddenError);
    await expect(updateOrganization(as(db, tech), id, 2, { name: 'By service' })).rejects.toThrow(ForbiddenError);
    // Strangers sign in first.
    await request(app).get('/organizations').expect(303).expect('Location', /\/login/);
  });

  it('refuses bad input with a clear message, keeping the input and changing nothing', async () => {
    const taken = domain();
    const holder = await newOrg(`Holder ${unique()}`, [taken]);
    const org = await newOrg(`Target ${unique()}`);
    const post = (body: Record<string, string>) => adminAgent.post('/organizations').type('form').send({ _csrf: adminCsrf, ...body });
    const edit = (body: Record<string, string>) =>
      adminAgent.post(`/organizations/${org.id}`).type('form').send({ _csrf: adminCsrf, version: String(org.version), name: org.name, ...body });

    let res = await expectRefused(db, () => post({ name: '', environment: 'kept text' }), 422, 'A name is required.');
    expect(res.text).toContain('kept text');
    await expectRefused(db, () => post({ name: 'n'.repeat(121) }), 422, 'A name can be at most 120 characters.');
    await expectRefused(db, () => post({ name: holder.name.toUpperCase() }), 422, `There is already an organization named ${holder.name}`);
    for (const pub of ['gmail.com', 'yahoo.fr', 'GMX.DE', 'outlook.com', 'hotmail.com', 'icloud.com']) {
      res = await expectRefused(db, () => post({ name: `Public ${unique()}`, domains: pub }), 422, 'is a public mail service');
      expect(res.text).toContain('id="domains-error"');
    }
    await expectRefused(db, () => post({ name: `Dup ${unique()}`, domains: taken }), 422, `${taken} (${holder.name}) already has one`);
    await expectRefused(db, () => post({ name: `Bad ${unique()}`, domains: 'not a domain!' }), 422, 'is not a domain name');
    await expectRefused(db, () => post({ name: `Box ${unique()}`, shareTickets: 'yes' }), 422, 'Tick the box, or leave it empty.');
    await expectRefused(db, () => post({ name: `Many ${unique()}`, domains: Array.from({ length: 51 }, (_, i) => `d${i}-${unique()}.test`).join('\n') }), 422, 'at most 50 domains');
    await expectRefused(db, () => edit({ domains: taken }), 422, 'already has one');
    await expectRefused(db, () => edit({ name: holder.name }), 422, 'There is already an organization named');
    await expectRefused(db, () => edit({ version: '' }), 422, 'The form is missing its version');
    await expectRefused(db, () => edit({ version: '7' }), 409, 'was changed by someone else meanwhile');
    await expectRefused(db, () => adminAgent.post('/organizations/999999999').type('form').send({ _csrf: adminCsrf, version: '1', name: 'X' }), 404);
    await expectRefused(db, () => post({ name: `Forged ${unique()}`, _csrf: 'forged' }), 403);
    // A customer edit naming an unknown organization is refused too (customers.test.ts has the rest).
    expect(await db.prisma.organization.findUniqueOrThrow({ where: { id: org.id } })).toMatchObject({ version: 1, name: org.name });
  });
});

describe('names', () => {
  it('are one record whatever their case, by PostgreSQL’s lower() (a final Σ, a dotted İ) as the migration made them', async () => {
    const token = unique();
    const greek = await newOrg(`ΟΔΟΣ ${token}`);
    const turkish = await newOrg(`İZMİR ${token}`);
    const rows = await db.pool.query(`SELECT id, "nameKey" = lower(name) AS ok FROM "Organization" WHERE id = ANY($1)`, [[greek.id, turkish.id]]);
    expect(rows.rows.every((r) => r.ok)).toBe(true);
    await expectRefused(db, () => adminAgent.post('/organizations').type('form').send({ _csrf: adminCsrf, name: `οδοσ ${token}` }), 422, 'There is already an organization named');
    // A customer's form names either in another case.
    const t = await buildTicket(db, tech, { customer: { name: 'Eleni', email: `eleni-${token}@x.test`, organization: `οδοσ ${token}` } });
    expect((await db.prisma.customer.findUniqueOrThrow({ where: { id: t.customerId } })).organizationId).toBe(greek.id);
    const u = await buildTicket(db, tech, { customer: { name: 'Emre', email: `emre-${token}@x.test`, organization: `izmir ${token}` } });
    expect((await db.prisma.customer.findUniqueOrThrow({ where: { id: u.customerId } })).organizationId).toBe(turkish.id);
  });
});

describe('history', () => {
  it('is append-only: the database refuses UPDATE, DELETE and TRUNCATE', async () => {
    const org = await newOrg(`Kept ${unique()}`, [domain()]);
    const before = await orgHistory(org.id);
    expect(before.length).toBe(2);
    await expect(db.pool.query(`UPDATE "OrganizationHistory" SET "newValue" = 'forged' WHERE "organizationId" = $1`, [org.id])).rejects.toThrow(/append-only/);
    await expect(db.pool.query(`DELETE FROM "OrganizationHistory" WHERE "organizationId" = $1`, [org.id])).rejects.toThrow(/append-only/);
    await expect(db.pool.query(`TRUNCATE "OrganizationHistory" CASCADE`)).rejects.toThrow(/append-only/);
    expect(await orgHistory(org.id)).toEqual(before);
  });

  it('records a customer moved between organizations on the customer and on both organizations', async () => {
    const from = await newOrg(`From ${unique()}`);
    const to = await newOrg(`To ${unique()}`);
    const t = await buildTicket(db, tech, { customer: { name: 'Mover', email: `mover-${unique()}@x.test`, organization: from.name } });
    const c = await db.prisma.customer.findUniqueOrThrow({ where: { id: t.customerId } });
    await techAgent.post(`/customers/${c.id}`).type('form')
      .send({ _csrf: techCsrf, version: String(c.version), name: c.name, email: c.email, organization: to.name.toLowerCase() }).expect(303);
    expect((await db.prisma.customer.findUniqueOrThrow({ where: { id: c.id } })).organizationId).toBe(to.id);
    const rows = await db.prisma.customerHistory.findMany({ where: { customerId: c.id }, orderBy: { id: 'asc' } });
    expect(rows.map((h) => [h.field, h.oldValue, h.newValue, h.oldRefId, h.newRefId, h.actorId])).toEqual([
      ['organization', null, from.name, null, from.id, tech.id],
      ['organization', from.name, to.name, from.id, to.id, tech.id],
    ]);
    expect((await orgHistory(from.id)).map((h) => [h.action, h.field, h.actorId]).slice(-1)).toEqual([['UNLINKED', 'customer', tech.id]]);
    expect((await orgHistory(to.id)).map((h) => [h.action, h.field, h.actorId]).slice(-1)).toEqual([['LINKED', 'customer', tech.id]]);
  });
});

describe('shared tickets on the private link', () => {
  /** A customer's ticket with a confirmed private link, opened by a browser of their own. */
  async function customerWithLink(email: string, title: string) {
    const ticket = await buildTicket(db, tech, { title, customer: { name: email.split('@')[0]!, email } });
    const token = await issueAccessToken(db.pool, ticket.id, null, 30);
    const agent = request.agent(app);
    await confirmLink(agent, token);
    return { ticket, token, agent };
  }

  it('off by default: nothing of a colleague’s ticket shows, and its reference gets the same 404 as a missing one', async () => {
    const d = domain();
    await newOrg(`Private ${unique()}`, [d]);
    const ann = await customerWithLink(`ann@${d}`, 'Ann’s own problem');
    const bob = await customerWithLink(`bob@${d}`, 'Bob’s secret problem');
    const page = await ann.agent.get(`/s/${ann.token}`).expect(200);
    expect(page.text).not.toContain('Bob’s secret problem');
    expect(page.text).not.toContain('Your organization’s tickets');
    const hidden = await ann.agent.get(`/s/${ann.token}/org/${bob.ticket.reference}`).expect(404);
    const missing = await ann.agent.get(`/s/${ann.token}/org/ZZZZ-ZZZZ`).expect(404);
    const strip = (html: string) => html.replace(/name="_csrf" value="[^"]*"/g, '').replace(/nonce="[^"]*"/g, '');
    expect(strip(hidden.text)).toBe(strip(missing.text));
    expect(hidden.text).not.toContain('Bob');
  });

  it('on: lists colleagues’ tickets and opens them read-only, public entries only; not other organizations’, not after it is switched off', async () => {
    const d = domain();
    const org = await newOrg(`Sharing ${unique()}`, [d], { shareTickets: true });
    const outsider = await newOrg(`Outsider ${unique()}`, [domain()], { shareTickets: true });
    const ann = await customerWithLink(`ann@${d}`, 'Ann’s own problem');
    const bob = await customerWithLink(`bob@${d}`, 'Bob’s shared problem');
    await addWorkLog(as(db, tech), bob.ticket.reference, { kind: 'REPLY', body: 'Please restart the router.' });
    await addWorkLog(as(db, tech), bob.ticket.reference, { kind: 'NOTE', body: 'INTERNAL: customer is difficult.' });
    const stranger = await buildTicket(db, tech, { title: 'Someone else’s problem', customer: { name: 'Eve', email: `eve@${(await db.prisma.organizationDomain.findFirstOrThrow({ where: { organizationId: outsider.id } })).domain}` } });

    const page = await ann.agent.get(`/s/${ann.token}`).expect(200);
    expect(page.text).toContain('Your organization’s tickets');
    expect(page.text).toContain(`/s/${ann.token}/org/${bob.ticket.reference}`);
    expect(page.text).toContain('Bob’s shared problem');
    expect(page.text).toContain('reported by bob');
    expect(page.text).not.toContain('Someone else’s problem');
    // Ann's own ticket is not in the list of colleagues' tickets.
    expect(page.text).not.toContain(`/org/${ann.ticket.reference}`);

    const shared = await ann.agent.get(`/s/${ann.token}/org/${bob.ticket.reference.toLowerCase()}`).expect(200);
    expect(shared.headers['cache-control']).toBe('no-store');
    expect(shared.text).toContain('Bob’s shared problem');
    expect(shared.text).toContain('Please restart the router.');
    expect(shared.text).not.toContain('INTERNAL');
    expect(shared.text).toContain('only bob can reply');
    expect(shared.text).not.toContain(`action="/s/${ann.token}/reply"`);
    expect(shared.text).not.toContain('/files/');
    await ann.agent.get(`/s/${ann.token}/org/${stranger.reference}`).expect(404);
    await ann.agent.get(`/s/${ann.token}/org/${ann.ticket.reference}`).expect(404);
    await ann.agent.get(`/s/not-a-token/org/${bob.ticket.reference}`).expect(404);
    // An unconfirmed link shows its button first, never the colleague's ticket.
    const fresh = await issueAccessToken(db.pool, (await buildTicket(db, tech, { customer: { name: 'Cy', email: `cy@${d}` } })).id, null, 30);
    await request(app).get(`/s/${fresh}/org/${bob.ticket.reference}`).expect(303).expect('Location', `/s/${fresh}`);

    // Switched off: gone at once, and the same 404.
    const now = await db.prisma.organization.findUniqueOrThrow({ where: { id: org.id } });
    await updateOrganization(as(db, admin), org.id, now.version, { name: now.name, domains: [d], shareTickets: false });
    expect((await ann.agent.get(`/s/${ann.token}`).expect(200)).text).not.toContain('Bob’s shared problem');
    await ann.agent.get(`/s/${ann.token}/org/${bob.ticket.reference}`).expect(404);
  });
});
