// Cross-site request forgery: every state-changing route (every non-GET route the router has, see
// routes.ts) refuses a form without a token, with a forged one, and with a real token of another
// session — 403, nothing written, the session untouched — while the same request with the right
// token goes through (so the refusals are the token's doing, not a bad body). The same holds for
// forms sent as multipart/form-data (with files), which another site can post as easily.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { createTestDatabase } from '../helpers/db.js';
import { expectRefused, testApp } from '../helpers/http.js';
import { enumerateApp, fillPath } from './routes.js';
import { ROUTE_CASES, World, send, type Client, type Role } from './route-cases.js';

// Made while the tests are collected: the list of routes below is read from this very app.
const db = await createTestDatabase();
const app = testApp(db);
let w: World;
let stranger: Client;

beforeAll(async () => {
  w = await World.create(db, app);
  // Someone else's session: its token is real, but not the victim's.
  stranger = await w.client('technician');
});
afterAll(() => db?.close());

/** Every state-changing route, straight from the router: a new one is tested without being listed here. */
const allStateChanging = enumerateApp(app)
  .routes.filter((r) => r.method !== 'GET')
  .map((r) => `${r.method} ${r.path}`)
  // Authenticated by a key in the request, never a cookie (the error intake): see noCsrf.
  .filter((key) => !ROUTE_CASES[key]?.noCsrf);
/**
 * The REST API (/api/v1) takes no forms and reads no session: a browser's cookies, with or
 * without a valid CSRF token, get 401 there (tested below), so it has no CSRF token to check.
 */
const isApi = (key: string) => key.split(' ')[1]!.startsWith('/api/v1/');
const stateChangingRoutes = allStateChanging.filter((k) => !isApi(k));
const apiRoutes = allStateChanging.filter(isApi);

const forgeries: [string, (victim: Client) => string | null][] = [
  ['no token', () => null],
  ['a forged token', () => 'forged-token-0123456789abcdef'],
  ['an empty token', () => ''],
  ["another session's valid token", () => stranger.csrf],
];

describe.each(['admin', 'anonymous'] as Role[])('as %s', (role) => {
  let victim: Client;
  beforeAll(async () => {
    victim = await w.client(role);
  });

  it.each(stateChangingRoutes)('%s refuses a form without the right token', async (key) => {
    const spec = ROUTE_CASES[key];
    if (!spec) throw new Error(`${key} has no entry in tests/security/route-cases.ts: add one (the authorization matrix lists what it needs)`);
    const [method, path] = key.split(' ') as [string, string];
    for (const [what, token] of forgeries) {
      const call = (await spec.call?.(w, role)) ?? {};
      const url = fillPath(path, call.params ?? {}) + (call.query ? `?${call.query}` : '');
      await expectRefused(db, () => send(app, victim, method, url, call.body, token(victim)), 403, 'This form has expired').catch((err: Error) => {
        err.message = `with ${what}: ${err.message}`;
        throw err;
      });
    }
    // The victim's session survived every refused form (a refused sign-out did not sign them out).
    const home = await send(app, victim, 'GET', '/tickets');
    expect(home.status).toBe(role === 'anonymous' ? 303 : 200);

    // The same request with the right token is not refused by the CSRF check.
    const owner = spec.endsSession ? await w.client(role) : victim;
    const call = (await spec.call?.(w, role)) ?? {};
    const url = fillPath(path, call.params ?? {}) + (call.query ? `?${call.query}` : '');
    const res = await send(app, owner, method, url, call.body);
    expect(res.status).toBe(spec.expect[role]);
  });
});

describe('the list above', () => {
  it('is the router’s: every non-GET route, including those mounted under a path', () => {
    expect(stateChangingRoutes.length).toBeGreaterThan(20);
    for (const key of ['POST /login', 'POST /tickets/:reference/resolve', 'POST /admin/users/:id/active', 'POST /customers/:id/merge']) {
      expect(stateChangingRoutes).toContain(key);
    }
  });
});

/**
 * The same form as multipart/form-data, as browsers send it: the token first (when sent; or, with
 * `fileFirst`, after the file), the fields, the file.
 */
function sendMultipart(client: Client, url: string, body: Record<string, unknown> = {}, token: string | null = client.csrf, fileFirst = false) {
  const file = (r: request.Test) =>
    r.attach('files', Buffer.from(`attached ${w.unique()}\n`), { filename: 'proof.txt', contentType: 'text/plain' });
  let req = request(app).post(url).set('Cookie', client.cookie);
  if (fileFirst) req = file(req);
  if (token !== null) req = req.field('_csrf', token);
  for (const [k, v] of Object.entries(body)) req = req.field(k, String(v));
  return fileFirst ? req : file(req);
}

describe.each(['admin', 'anonymous'] as Role[])('multipart forms as %s', (role) => {
  let victim: Client;
  beforeAll(async () => {
    victim = await w.client(role);
  });

  it.each(stateChangingRoutes)('%s refuses a multipart form without the right token', async (key) => {
    const spec = ROUTE_CASES[key]!;
    const [, path] = key.split(' ') as [string, string];
    for (const [what, token] of forgeries) {
      const call = (await spec.call?.(w, role)) ?? {};
      const url = fillPath(path, call.params ?? {}) + (call.query ? `?${call.query}` : '');
      await expectRefused(db, () => sendMultipart(victim, url, call.body, token(victim)), 403, 'This form has expired').catch((err: Error) => {
        err.message = `with ${what}: ${err.message}`;
        throw err;
      });
    }
  });

  it.each(['POST /request', 'POST /s/:token/reply'])('%s takes the multipart form with its token first; a file before the token is refused unread', async (key) => {
    const spec = ROUTE_CASES[key]!;
    const [, path] = key.split(' ') as [string, string];
    const call = (await spec.call?.(w, role)) ?? {};
    const url = fillPath(path, call.params ?? {});
    await expectRefused(db, () => sendMultipart(victim, url, call.body, victim.csrf, true), 403, 'This form has expired');
    const before = await db.prisma.attachment.count();
    const res = await sendMultipart(victim, url, call.body);
    expect(res.status).toBe(spec.expect[role]);
    expect(await db.prisma.attachment.count()).toBe(before + 1);
  });
});

describe('the REST API ignores the browser session', () => {
  it.each(apiRoutes)('%s: a signed-in admin’s cookies and valid CSRF token get 401, as a form or as JSON', async (key) => {
    const victim = await w.client('admin');
    const spec = ROUTE_CASES[key]!;
    const [method, path] = key.split(' ') as [string, string];
    const call = (await spec.call?.(w, 'admin')) ?? {};
    const url = fillPath(path, call.params ?? {});
    await expectRefused(db, () => send(app, victim, method, url, { title: 'Planted' }), 401);
    const m = method.toLowerCase() as 'post' | 'patch' | 'put';
    await expectRefused(db, () => request(app)[m](url).set('Cookie', victim.cookie).set('x-csrf-token', victim.csrf).type('json').send({ title: 'Planted' }), 401);
  });
});

// The cookie's SameSite=Lax and HttpOnly flags are checked in tests/integration/auth.test.ts.
describe('where the token is read from', () => {
  it('forms do not accept the token from the query string, a header or a JSON body', async () => {
    const victim = await w.client('admin');
    const body = { email: `csrf-${w.unique()}@example.test`, name: 'Planted Admin', role: 'ADMIN', password: 'a long enough password' };
    await expectRefused(db, () => send(app, victim, 'POST', `/admin/users?_csrf=${encodeURIComponent(victim.csrf)}`, body, null), 403);
    await expectRefused(db, () => send(app, victim, 'POST', '/admin/users', body, null).set('x-csrf-token', victim.csrf), 403);
    await expectRefused(
      db,
      () => request(app).post('/admin/users').set('Cookie', victim.cookie).type('json').send({ ...body, _csrf: victim.csrf }),
      403,
    );
  });
});
