// A sign-in in flight while an admin deactivates, resets or demotes the user (issue 9, finding 2).
//
// Checking a password takes about a second of scrypt between reading the user and writing the
// session. Here that second is held open on purpose: the password check waits until the admin's
// change has committed, then goes on. Whatever the interleaving, the session that comes out of it
// must not count for more than the user is now allowed.
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Express } from 'express';
import request from 'supertest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { as, buildUser, PASSWORD } from '../helpers/factories.js';
import { csrfOf, testApp } from '../helpers/http.js';
import type { Actor } from '../../src/services/context.js';
import { resetPassword, setUserActive, updateUser } from '../../src/services/users/manage-users.js';
import { signInRaw, withCookies } from './route-cases.js';

/** The password check, held: `armed` makes the next check wait for `release()`. */
const hold = vi.hoisted(() => {
  const state = {
    armed: false,
    reached: undefined as undefined | (() => void),
    gate: undefined as undefined | Promise<void>,
    release: () => {},
  };
  return state;
});

vi.mock('../../src/services/passwords.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/services/passwords.js')>();
  return {
    ...real,
    async verifyPassword(password: string, stored: string) {
      const result = await real.verifyPassword(password, stored);
      if (hold.armed) {
        hold.armed = false;
        hold.reached?.();
        await hold.gate;
      }
      return result;
    },
  };
});

let db: TestDatabase;
let app: Express;
let admin: Actor;

beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db);
  admin = await buildUser(db, { role: 'ADMIN', name: 'Race Admin' });
});
afterAll(() => db?.close());
beforeEach(() => {
  hold.armed = false;
});

const versionOf = async (id: number) => (await db.prisma.user.findUniqueOrThrow({ where: { id } })).version;

/**
 * Starts signing in as `email`, and once the password has been checked (the user already read),
 * runs `meanwhile` to completion (its transaction committed) before the sign-in may go on.
 * Returns the cookie the sign-in ended with, if it gave one.
 */
async function signInWhile(email: string, meanwhile: () => Promise<unknown>): Promise<{ status: number; cookie: string | undefined }> {
  const page = await request(app).get('/login').expect(200);
  const first = withCookies(page);
  const reached = new Promise<void>((resolve) => (hold.reached = resolve));
  hold.gate = new Promise<void>((resolve) => (hold.release = resolve));
  hold.armed = true;
  const signingIn = request(app)
    .post('/login')
    .set('Cookie', first)
    .type('form')
    .send({ email, password: PASSWORD, _csrf: csrfOf(page.text) })
    .then((res) => res);
  await reached;
  await meanwhile();
  hold.release();
  const res = await signingIn;
  return { status: res.status, cookie: withCookies(res, first) };
}

async function expectNotSignedIn(cookie: string | undefined) {
  const res = await request(app).get('/tickets').set('Cookie', cookie ?? '');
  expect(res.status).toBe(303);
  expect(res.headers.location).toMatch(/^\/login/);
}

describe('a sign-in in flight', () => {
  it('does not survive the user being deactivated meanwhile', async () => {
    const user = await buildUser(db);
    const result = await signInWhile(user.email, async () =>
      setUserActive(as(db, admin), user.id, await versionOf(user.id), false),
    );
    // The sign-in looks at the user again after the hash: refused, with the usual answer.
    expect(result.status).toBe(401);
    await expectNotSignedIn(result.cookie);
    // Another instance, with nothing of it in memory, does not accept it either.
    const other = testApp(db);
    const res = await request(other).get('/tickets').set('Cookie', result.cookie ?? '');
    expect(res.status).toBe(303);
  });

  it('does not survive a password reset meanwhile', async () => {
    const user = await buildUser(db);
    const result = await signInWhile(user.email, async () =>
      resetPassword(as(db, admin), user.id, await versionOf(user.id), 'a completely new password'),
    );
    expect(result.status).toBe(401);
    await expectNotSignedIn(result.cookie);
    // The new password works.
    const page = await request(app).get('/login').expect(200);
    await request(app)
      .post('/login')
      .set('Cookie', withCookies(page))
      .type('form')
      .send({ email: user.email, password: 'a completely new password', _csrf: csrfOf(page.text) })
      .expect(303);
  });

  it('does not keep the admin role of a user demoted meanwhile', async () => {
    const other = await buildUser(db, { role: 'ADMIN', name: 'Soon Ex-Admin' });
    const result = await signInWhile(other.email, async () =>
      updateUser(as(db, admin), other.id, await versionOf(other.id), { email: other.email, name: other.name, role: 'TECHNICIAN' }),
    );
    expect(result.status).toBe(303);
    // Signed in, as the technician they now are.
    await request(app).get('/tickets').set('Cookie', result.cookie!).expect(200);
    await request(app).get('/admin/users').set('Cookie', result.cookie!).expect(403);
  });
});

describe('a session written with a stamp that has since moved on', () => {
  it('is refused by every instance, even while its row is still in the table', async () => {
    // What a reset that commits after the sign-in's last look at the user leaves behind: a session
    // row with the old stamp (endSessionsOf had nothing to delete yet).
    const user = await buildUser(db);
    const s = await signInRaw(app, user.email);
    await db.pool.query(`UPDATE "User" SET "securityStamp" = gen_random_uuid() WHERE id = $1`, [user.id]);
    const other = testApp(db); // nothing of the session in its memory
    const res = await request(other).get('/tickets').set('Cookie', s.cookie);
    expect(res.status).toBe(303);
    expect(res.headers.location).toMatch(/^\/login/);
    const { rows } = await db.pool.query(
      `SELECT 1 FROM "session" WHERE (sess -> 'passport' -> 'user' ->> 'id') = $1`,
      [String(user.id)],
    );
    expect(rows).toHaveLength(0); // and it is gone
  });

  it('a session whose user changed name or email shows them at once, without rewriting the row', async () => {
    const user = await buildUser(db, { name: 'Old Name' });
    const s = await signInRaw(app, user.email);
    await updateUser(as(db, admin), user.id, await versionOf(user.id), { email: user.email, name: 'New Name', role: 'TECHNICIAN' });
    const page = await request(app).get('/tickets').set('Cookie', s.cookie).expect(200);
    expect(page.text).toContain('New Name');
  });
});
