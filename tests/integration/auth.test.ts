// Sign-in, sessions and who may see what.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import request from 'supertest';
import { createTestDatabase, countRows, type TestDatabase } from '../helpers/db.js';
import { as, buildUser, PASSWORD } from '../helpers/factories.js';
import { csrfOf, signIn, testApp } from '../helpers/http.js';
import { setUserActive } from '../../src/services/users/manage-users.js';
import type { Actor } from '../../src/services/context.js';

let db: TestDatabase;
let app: Express;
let admin: Actor;
let tech: Actor;

beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db, { LOGIN_MAX_ATTEMPTS: '3' });
  admin = await buildUser(db, { role: 'ADMIN', name: 'Ada Admin' });
  tech = await buildUser(db, { name: 'Theo Tech' });
});
afterAll(() => db?.close());

const sid = (res: request.Response) =>
  ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((c) => c.startsWith('caseboard.sid='));

describe('signing in', () => {
  it('health answers without a session', async () => {
    const res = await request(app).get('/health').expect(200);
    expect(res.body).toEqual({ status: 'ok' });
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('staff pages send strangers to sign in, and back where they were going afterwards', async () => {
    const res = await request(app).get('/tickets/new?x=1').expect(303);
    expect(res.headers.location).toBe('/login?next=%2Ftickets%2Fnew%3Fx%3D1');
    const agent = request.agent(app);
    const page = await agent.get('/login?next=%2Ftickets%2Fnew%3Fx%3D1').expect(200);
    const done = await agent
      .post('/login')
      .type('form')
      .send({ email: tech.email, password: PASSWORD, _csrf: csrfOf(page.text), next: '/tickets/new?x=1' })
      .expect(303);
    expect(done.headers.location).toBe('/tickets/new?x=1');
  });

  it('never redirects off-site after sign-in', async () => {
    const agent = request.agent(app);
    const page = await agent.get('/login').expect(200);
    const done = await agent
      .post('/login')
      .type('form')
      .send({ email: tech.email, password: PASSWORD, _csrf: csrfOf(page.text), next: '//evil.example/' })
      .expect(303);
    expect(done.headers.location).toBe('/tickets');
  });

  it('gives the same answer for a wrong password, an unknown email and a deactivated user', async () => {
    const retired = await buildUser(db, { active: false });
    for (const [email, password] of [
      [tech.email, 'wrong password!'],
      ['nobody@example.com', PASSWORD],
      [retired.email, PASSWORD],
    ] as const) {
      const agent = request.agent(app);
      const page = await agent.get('/login').expect(200);
      const res = await agent.post('/login').type('form').send({ email, password, _csrf: csrfOf(page.text) }).expect(401);
      expect(res.text).toContain('Wrong email or password.');
      await agent.get('/tickets').expect(303);
    }
  });

  it('refuses a sign-in form without its CSRF token', async () => {
    await request(app).post('/login').type('form').send({ email: tech.email, password: PASSWORD }).expect(403);
  });

  it('throttles repeated failures for an account', async () => {
    const victim = await buildUser(db);
    const agent = request.agent(app);
    const token = csrfOf((await agent.get('/login')).text);
    const attempt = (password: string) => agent.post('/login').type('form').send({ email: victim.email, password, _csrf: token });
    for (let i = 0; i < 3; i++) await attempt('guess ' + i).expect(401);
    const blocked = await attempt(PASSWORD).expect(429);
    expect(blocked.text).toContain('Too many failed attempts');
  });

  it('issues a session only at sign-in (no fixation), with safe cookie flags and security headers', async () => {
    const agent = request.agent(app);
    const page = await agent.get('/login').expect(200);
    // The sign-in form's CSRF token needs no session: only its own cookie.
    expect(sid(page)).toBeUndefined();
    const csrfCookie = ([] as string[]).concat(page.headers['set-cookie'] ?? []).find((c) => c.startsWith('caseboard.csrf='));
    expect(csrfCookie).toMatch(/HttpOnly/);
    expect(csrfCookie).toMatch(/SameSite=Lax/);
    const res = await agent.post('/login').type('form').send({ email: tech.email, password: PASSWORD, _csrf: csrfOf(page.text) }).expect(303);
    const after = sid(res);
    expect(after).toBeDefined();
    expect(after).toMatch(/HttpOnly/);
    expect(after).toMatch(/SameSite=Lax/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
  });
});

describe('signing out and ending sessions', () => {
  it('sign-out ends the session on the server: the old cookie no longer works', async () => {
    const { agent, csrf } = await signIn(app, tech.email);
    const cookie = sid(await agent.get('/tickets'))?.split(';')[0];
    await agent.post('/logout').type('form').send({ _csrf: csrf }).expect(303);
    await agent.get('/tickets').expect(303);
    if (cookie) await request(app).get('/tickets').set('Cookie', cookie).expect(303);
  });

  it('deactivating a user ends their sessions at once', async () => {
    const victim = await buildUser(db, { name: 'Soon Gone' });
    const { agent } = await signIn(app, victim.email);
    await agent.get('/tickets').expect(200);
    const row = await db.prisma.user.findUniqueOrThrow({ where: { id: victim.id } });
    await setUserActive(as(db, admin), victim.id, row.version, false);
    const res = await agent.get('/tickets').expect(303);
    expect(res.headers.location).toMatch(/^\/login/);
  });
});

describe('roles', () => {
  it('a technician cannot reach or use the admin pages', async () => {
    const { agent, csrf } = await signIn(app, tech.email);
    await agent.get('/admin/users').expect(403);
    const before = await countRows(db);
    await agent
      .post('/admin/users')
      .type('form')
      .send({ _csrf: csrf, email: 'sneaky@example.com', name: 'Sneaky', role: 'ADMIN', password: 'long-enough-password' })
      .expect(403);
    const target = await db.prisma.user.findUniqueOrThrow({ where: { id: admin.id } });
    await agent.post(`/admin/users/${admin.id}/active`).type('form').send({ _csrf: csrf, version: target.version, active: 'false' }).expect(403);
    expect(await countRows(db)).toEqual(before);
  });

  it('anonymous requests change nothing', async () => {
    const before = await countRows(db);
    await request(app).post('/tickets').type('form').send({ title: 'x' }).expect(403);
    await request(app).get('/admin/users').expect(303);
    expect(await countRows(db)).toEqual(before);
  });

  it('an admin sees the admin pages; the navigation shows Users only to admins', async () => {
    const { agent } = await signIn(app, admin.email);
    const res = await agent.get('/admin/users').expect(200);
    expect(res.text).toContain('Theo Tech');
    expect((await agent.get('/tickets')).text).toContain('href="/admin/users"');
    const techPage = await (await signIn(app, tech.email)).agent.get('/tickets');
    expect(techPage.text).not.toContain('href="/admin/users"');
  });
});
