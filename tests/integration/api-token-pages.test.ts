// The API tokens' pages: a person's own tokens (made, shown once, listed, revoked after a
// confirmation), the admins' service tokens, and the history of both.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import { countRows, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { csrfOf, expectRefused, signIn, testApp } from '../helpers/http.js';
import { buildUser } from '../helpers/factories.js';
import type { Actor } from '../../src/services/context.js';
import { hashToken } from '../../src/services/api/tokens.js';
import { api } from '../helpers/api.js';

let db: TestDatabase;
let app: Express;
let tech: Actor;
let admin: Actor;
beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db);
  tech = await buildUser(db, { name: 'Tess Tech' });
  admin = await buildUser(db, { role: 'ADMIN', name: 'Ada Admin' });
});
afterAll(() => db?.close());

const tokenIn = (html: string) => /id="new-token"[^>]*value="(cbt_[A-Za-z0-9_-]+)"/.exec(html)?.[1];

describe('/profile/tokens', () => {
  it('makes a token shown once, stored only as its hash, listed with prefix, scopes and expiry; revoked after a confirmation', async () => {
    const { agent, csrf } = await signIn(app, tech.email);
    const page = await agent.get('/profile/tokens').expect(200);
    expect(page.text).not.toContain('users:manage'); // a technician's tokens cannot manage users
    const made = await agent.post('/profile/tokens').type('form').send({ _csrf: csrf, name: 'deploy script', scopes: ['tickets:read', 'tickets:write'], expiresInDays: '30' });
    expect(made.status).toBe(201);
    expect(made.headers['cache-control']).toBe('no-store');
    const token = tokenIn(made.text)!;
    expect(token).toMatch(/^cbt_[A-Za-z0-9_-]{43}$/);
    const row = await db.prisma.apiToken.findFirstOrThrow({ where: { userId: tech.id } });
    expect(row).toMatchObject({ name: 'deploy script', tokenHash: hashToken(token), prefix: token.slice(0, 12), scopes: ['tickets:read', 'tickets:write'] });
    expect(JSON.stringify(await db.pool.query('SELECT * FROM "ApiToken"'))).not.toContain(token);
    // The list shows the prefix, never the token.
    const list = await agent.get('/profile/tokens').expect(200);
    expect(list.text).toContain(`${token.slice(0, 12)}…`);
    expect(list.text).not.toContain(token);
    await api(app, token).get('/tickets').expect(200);

    // Revoke: a confirmation page, then the form.
    const confirm = await agent.get(`/profile/tokens/${row.id}/revoke`).expect(200);
    expect(confirm.text).toContain('deploy script');
    await agent.post(`/profile/tokens/${row.id}/revoke`).type('form').send({ _csrf: csrfOf(confirm.text) }).expect(303);
    await api(app, token).get('/tickets').expect(401);
    const history = await db.prisma.apiTokenHistory.findMany({ where: { tokenId: row.id }, orderBy: { id: 'asc' } });
    expect(history.map((h) => [h.action, h.actorId])).toEqual([['CREATED', tech.id], ['CHANGED', tech.id]]);
  });

  it('refuses bad forms with 422 and writes nothing; another user’s token is not found', async () => {
    const { agent, csrf } = await signIn(app, tech.email);
    for (const body of [
      { name: '', scopes: 'tickets:read', expiresInDays: '30' },
      { name: 'x', expiresInDays: '30' },
      { name: 'x', scopes: 'users:manage', expiresInDays: '30' },
      { name: 'x', scopes: 'no:such', expiresInDays: '30' },
      { name: 'x', scopes: 'tickets:read', expiresInDays: '9999' },
    ]) {
      await expectRefused(db, () => agent.post('/profile/tokens').type('form').send({ _csrf: csrf, ...body }), 422);
    }
    const other = await signIn(app, admin.email);
    const made = await other.agent.post('/profile/tokens').type('form').send({ _csrf: other.csrf, name: 'admin own', scopes: 'tickets:read', expiresInDays: '7' }).expect(201);
    expect(tokenIn(made.text)).toBeDefined();
    const id = (await db.prisma.apiToken.findFirstOrThrow({ where: { userId: admin.id } })).id;
    await expectRefused(db, () => agent.post(`/profile/tokens/${id}/revoke`).type('form').send({ _csrf: csrf }), 404);
  });
});

describe('/admin/tokens', () => {
  it('makes a service token acting as a new service account with the chosen role', async () => {
    const { agent, csrf } = await signIn(app, admin.email);
    const before = await countRows(db);
    const made = await agent.post('/admin/tokens').type('form').send({ _csrf: csrf, name: 'Nightly import', scopes: ['tickets:read', 'tickets:write'], expiresInDays: '90', role: 'TECHNICIAN' }).expect(201);
    const token = tokenIn(made.text)!;
    const after = await countRows(db);
    expect(after.User).toBe(before.User! + 1);
    const row = await db.prisma.apiToken.findFirstOrThrow({ where: { tokenHash: hashToken(token) }, include: { user: true } });
    expect(row.user).toMatchObject({ kind: 'SERVICE', role: 'TECHNICIAN', name: 'Nightly import' });
    const res = await api(app, token).post('/tickets', { title: 'Import failed', description: 'Row 7', urgency: 'LOW', customer: { name: 'Imp Ort', email: 'imp@customer.test' } }).expect(201);
    const created = await db.prisma.ticketHistory.findFirstOrThrow({ where: { ticket: { reference: res.body.reference } } });
    expect(created).toMatchObject({ actorId: row.userId, apiTokenId: row.id });
    // The admin list shows everyone's tokens and revokes any of them.
    const list = await agent.get('/admin/tokens').expect(200);
    expect(list.text).toContain('Nightly import');
    const confirm = await agent.get(`/admin/tokens/${row.id}/revoke`).expect(200);
    await agent.post(`/admin/tokens/${row.id}/revoke`).type('form').send({ _csrf: csrfOf(confirm.text) }).expect(303);
    await api(app, token).get('/tickets').expect(401);
  });

  it('is for admins only', async () => {
    const { agent, csrf } = await signIn(app, tech.email);
    await agent.get('/admin/tokens').expect(403);
    await expectRefused(db, () => agent.post('/admin/tokens').type('form').send({ _csrf: csrf, name: 'sneaky', scopes: 'tickets:read', expiresInDays: '7', role: 'ADMIN' }), 403);
  });
});

describe('a hostile token name', () => {
  it('is shown as text on the token pages and in the ticket history', async () => {
    const { agent, csrf } = await signIn(app, tech.email);
    const name = '<img src=x onerror=alert(1)>“deploy”';
    const made = await agent.post('/profile/tokens').type('form').send({ _csrf: csrf, name, scopes: ['tickets:read', 'tickets:write'], expiresInDays: '7' }).expect(201);
    const token = tokenIn(made.text)!;
    expect(made.text).not.toContain('<img src=x');
    const ref = (await api(app, token).post('/tickets', { title: 'Hostile', description: 'Name', urgency: 'LOW', customer: { name: 'H', email: 'h@customer.test' } }).expect(201)).body.reference;
    const page = await agent.get(`/tickets/${ref}`).expect(200);
    expect(page.text).toContain('API token “&lt;img src=x onerror=alert(1)&gt;');
    expect(page.text).not.toContain('<img src=x');
    expect((await agent.get('/profile/tokens').expect(200)).text).not.toContain('<img src=x');
  });
});
