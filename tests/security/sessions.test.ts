// Sessions under attack: what tests/integration/auth.test.ts does not already prove.
//
// Already there (not repeated): a new session id at sign-in and the cookie's flags; the throttle
// refusing an account's 4th attempt (even with the right password) after LOGIN_MAX_ATTEMPTS=3;
// one answer for every failed sign-in; deactivation (through the service) ending a session.
// Here: the old ids are dead on the server (replayed cookies, not the browser's jar), every way
// an admin ends or changes a session through the users page, forged cookies, expiry, and ways
// around the throttle.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import request from 'supertest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { buildUser, PASSWORD } from '../helpers/factories.js';
import { csrfOf, expectRefused, testApp } from '../helpers/http.js';
import type { Actor } from '../../src/services/context.js';
import { sessionCookie, signInRaw, withCookies } from './route-cases.js';

let db: TestDatabase;
let app: Express;
let admin: Actor;
let adminSession: { cookie: string; csrf: string };

beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db, { LOGIN_MAX_ATTEMPTS: '3' });
  admin = await buildUser(db, { role: 'ADMIN', name: 'Sid Admin' });
  adminSession = await signInRaw(app, admin.email);
});
afterAll(() => db?.close());

const get = (cookie: string, path = '/tickets') => request(app).get(path).set('Cookie', cookie);
const post = (cookie: string, path: string, body: Record<string, unknown>) => request(app).post(path).set('Cookie', cookie).type('form').send(body);

/** A replayed cookie that is no longer signed in: pages send it to sign in, forms are refused. */
async function expectSignedOut(session: { cookie: string; csrf: string }) {
  const page = await get(session.cookie).expect(303);
  expect(page.headers.location).toMatch(/^\/login\?next=/);
  await expectRefused(
    db,
    () => post(session.cookie, '/tickets/CB-0000000/worklog', { _csrf: session.csrf, kind: 'NOTE', body: 'still here?' }),
    403,
  );
}

/** The rows of the session table that belong to a user. */
async function sessionRowsOf(userId: number): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM "session" WHERE (sess -> 'passport' -> 'user' ->> 'id') = $1`,
    [String(userId)],
  );
  return rows[0]!.n;
}

const sid = (cookie: string) => decodeURIComponent(/caseboard\.sid=([^;]+)/.exec(cookie)![1]!).replace(/^s:/, '').split('.')[0]!;
async function sessionRowExists(cookie: string): Promise<boolean> {
  const { rows } = await db.pool.query('SELECT 1 FROM "session" WHERE sid = $1', [sid(cookie)]);
  return rows.length > 0;
}

async function adminPost(path: string, body: Record<string, unknown>) {
  await post(adminSession.cookie, path, { _csrf: adminSession.csrf, ...body }).expect(303);
}
async function versionOf(userId: number) {
  return (await db.prisma.user.findUniqueOrThrow({ where: { id: userId } })).version;
}

describe('session fixation', () => {
  it('a session id planted before sign-in is not signed in afterwards, and is gone from the table', async () => {
    // The sign-in page gives no session id to plant (its CSRF token needs none)...
    const page = await request(app).get('/login').expect(200);
    expect(sessionCookie(page)).toBeUndefined();
    // ...so the attacker plants the id (and CSRF cookie and token) of a session of their own.
    const victim = await buildUser(db);
    const planted = await signInRaw(app, (await buildUser(db, { name: 'Attacker' })).email);
    expect(await sessionRowExists(planted.cookie)).toBe(true);
    const res = await post(planted.cookie, '/login', { email: victim.email, password: PASSWORD, _csrf: planted.csrf }).expect(303);
    const issued = withCookies(res, planted.cookie);
    expect(sid(issued)).not.toBe(sid(planted.cookie));
    await get(issued).expect(200);
    // The attacker's copy of the id is worth nothing.
    await expectSignedOut(planted);
    expect(await sessionRowExists(planted.cookie)).toBe(false);
  });

  it('a made-up session id, or a real one with a forged signature, is not accepted', async () => {
    const user = await buildUser(db);
    const real = await signInRaw(app, user.email);
    const value = decodeURIComponent(real.cookie.split('=')[1]!); // s:<sid>.<signature>
    const [id] = value.slice(2).split('.');
    const forged = [`caseboard.sid=${encodeURIComponent(`s:${id}.${'A'.repeat(43)}`)}`, `caseboard.sid=${id}`, 'caseboard.sid=s%3Aguessed-session-id.invalid'];
    for (const cookie of forged) await expectSignedOut({ cookie, csrf: real.csrf });
    await get(real.cookie).expect(200); // the real one still works
  });
});

describe('ending sessions', () => {
  it('sign-out deletes the session on the server: the cookie replayed afterwards is refused', async () => {
    // (auth.test.ts only replays a cookie if GET /tickets re-sends one, which it does not.)
    const user = await buildUser(db);
    const s = await signInRaw(app, user.email);
    await post(s.cookie, '/logout', { _csrf: s.csrf }).expect(303);
    expect(await sessionRowExists(s.cookie)).toBe(false);
    await expectSignedOut(s);
  });

  it('deactivating a user through the users page ends every session of theirs at once, and only theirs', async () => {
    const user = await buildUser(db, { name: 'Two Browsers' });
    const colleague = await buildUser(db);
    const laptop = await signInRaw(app, user.email);
    const phone = await signInRaw(app, user.email);
    const theirs = await signInRaw(app, colleague.email);
    expect(await sessionRowsOf(user.id)).toBe(2);
    await adminPost(`/admin/users/${user.id}/active`, { version: await versionOf(user.id), active: 'false' });
    expect(await sessionRowsOf(user.id)).toBe(0);
    await expectSignedOut(laptop);
    await expectSignedOut(phone);
    await get(theirs.cookie).expect(200);
    await get(adminSession.cookie).expect(200);
    // Reactivating them does not bring an old session back: they sign in again.
    await adminPost(`/admin/users/${user.id}/active`, { version: await versionOf(user.id), active: 'true' });
    await expectSignedOut(laptop);
    await signInRaw(app, user.email);
  });

  it('resetting a password through the users page ends the sessions that knew the old one', async () => {
    const user = await buildUser(db);
    const s = await signInRaw(app, user.email);
    await adminPost(`/admin/users/${user.id}/password`, { version: await versionOf(user.id), password: 'a brand new password' });
    await expectSignedOut(s);
    await get(adminSession.cookie).expect(200);
  });

  it('a session is refused once it has expired, even with a cookie that has not', async () => {
    const user = await buildUser(db);
    const s = await signInRaw(app, user.email);
    await db.pool.query(`UPDATE "session" SET expire = now() - interval '1 minute' WHERE sid = $1`, [sid(s.cookie)]);
    // Another instance of the app (no copy of the row in its memory) reads the table.
    const other = testApp(db);
    const res = await request(other).get('/tickets').set('Cookie', s.cookie).expect(303);
    expect(res.headers.location).toMatch(/^\/login/);
  });
});

describe('changed users', () => {
  it('a demoted admin loses the admin pages at once; a promoted technician gains them', async () => {
    const boss = await buildUser(db, { role: 'ADMIN', name: 'Demoted Soon' });
    const tech = await buildUser(db, { name: 'Promoted Soon' });
    const bossSession = await signInRaw(app, boss.email);
    const techSession = await signInRaw(app, tech.email);
    await get(bossSession.cookie, '/admin/users').expect(200);
    await get(techSession.cookie, '/admin/users').expect(403);

    await adminPost(`/admin/users/${boss.id}`, { version: await versionOf(boss.id), email: boss.email, name: boss.name, role: 'TECHNICIAN' });
    await adminPost(`/admin/users/${tech.id}`, { version: await versionOf(tech.id), email: tech.email, name: tech.name, role: 'ADMIN' });

    await get(bossSession.cookie, '/admin/users').expect(403);
    await expectRefused(
      db,
      () => post(bossSession.cookie, '/admin/users', { _csrf: bossSession.csrf, email: 'late@example.test', name: 'Late', role: 'ADMIN', password: 'a long enough password' }),
      403,
    );
    await get(techSession.cookie, '/admin/users').expect(200);
  });
});

describe('returning after sign-in', () => {
  // auth.test.ts checks '//evil.example/'; these are the spellings browsers also read as off-site.
  const tricky = ['/\t/evil.example', '/\n/evil.example', '/\\evil.example', '/%2F%2Fevil.example', '/%5C%5Cevil.example', 'https://evil.example', '\\\\evil.example', ' //evil.example', '/\r\n/evil.example'];

  it('never leaves the site, however the return path is spelled', async () => {
    const user = await buildUser(db);
    const s = await signInRaw(app, user.email);
    for (const next of tricky) {
      // Signed in already: the sign-in page sends them on at once.
      const res = await get(s.cookie, `/login?next=${encodeURIComponent(next)}`).expect(303);
      expect(new URL(String(res.headers.location), 'https://desk.example/').origin, JSON.stringify(next)).toBe('https://desk.example');
      // Signing in with the return path in the form.
      const page = await request(app).get('/login').expect(200);
      const done = await post(withCookies(page), '/login', { email: user.email, password: PASSWORD, _csrf: csrfOf(page.text), next }).expect(303);
      expect(new URL(String(done.headers.location), 'https://desk.example/').origin, JSON.stringify(next)).toBe('https://desk.example');
    }
  });
});

describe('sign-in throttle (LOGIN_MAX_ATTEMPTS=3)', () => {
  /** One attempt from a brand-new browser: its own cookie and token. */
  async function attempt(email: string, password: string, headers: Record<string, string> = {}) {
    const page = await request(app).get('/login').expect(200);
    return request(app)
      .post('/login')
      .set('Cookie', withCookies(page))
      .set(headers)
      .type('form')
      .send({ email, password, _csrf: csrfOf(page.text) });
  }

  it('cannot be dodged with a fresh cookie, another spelling of the email, or a forged X-Forwarded-For', async () => {
    const victim = await buildUser(db, { email: `throttle-${Date.now()}@example.test` });
    const spellings = [victim.email, victim.email.toUpperCase(), `  ${victim.email}  `];
    for (const email of spellings) expect((await attempt(email, 'wrong guess')).status).toBe(401);
    for (const [email, headers] of [
      [victim.email, {}],
      [victim.email.toUpperCase(), {}],
      [victim.email, { 'X-Forwarded-For': '203.0.113.7' }],
      [victim.email, { 'X-Real-IP': '203.0.113.8', 'X-Forwarded-For': '198.51.100.9, 203.0.113.9' }],
    ] as const) {
      const res = await attempt(email, PASSWORD, headers);
      expect(res.status).toBe(429);
      expect(res.text).toContain('Too many failed attempts');
      // A refused attempt signs nobody in.
      const cookie = sessionCookie(res);
      if (cookie) await get(cookie).expect(303);
    }
  });

  it('successful sign-ins do not count towards it', async () => {
    const user = await buildUser(db);
    for (let i = 0; i < 5; i++) expect((await attempt(user.email, PASSWORD)).status).toBe(303);
    for (let i = 0; i < 2; i++) expect((await attempt(user.email, 'wrong guess')).status).toBe(401);
    expect((await attempt(user.email, PASSWORD)).status).toBe(303);
  });
});
