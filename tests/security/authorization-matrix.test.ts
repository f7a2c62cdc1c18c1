// Who may use which route: every route the router has (read from the app, see routes.ts) × every
// kind of user (route-cases.ts), with the status each must get. A refusal must also write nothing.
// A route the table does not list fails the first test: review it and add its row.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import request from 'supertest';
import { countRows, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testApp } from '../helpers/http.js';
import { enumerateApp, fillPath, routeKeys } from './routes.js';
import { OPAQUE_MOUNTS, ROLES, ROUTE_CASES, World, send, type Client, type Expected, type Role } from './route-cases.js';

// Made while the tests are collected: the routes below are read from this very app.
const db: TestDatabase = await createTestDatabase();
const app: Express = testApp(db);
let w: World;
const clients = {} as Record<Role, Client>;
const appRoutes = routeKeys(app);

beforeAll(async () => {
  w = await World.create(db, app);
  for (const role of ROLES) clients[role] = await w.client(role);
});
afterAll(() => db?.close());

describe('the route table', () => {
  it('lists every route the app has, and no route it does not have', () => {
    const actual = appRoutes;
    const listed = Object.keys(ROUTE_CASES);
    const unlisted = actual.filter((k) => !listed.includes(k));
    const gone = listed.filter((k) => !actual.includes(k));
    expect({ unlisted, gone }, 'add each unlisted route to ROUTE_CASES in tests/security/route-cases.ts, with the status every role must get').toEqual({
      unlisted: [],
      gone: [],
    });
    expect(new Set(actual).size, 'a route is registered twice').toBe(actual.length);
  });

  it('knows every path served outside the router (static files, sub-apps)', async () => {
    const { opaque } = enumerateApp(app);
    expect(opaque.map((o) => o.path).sort()).toEqual(Object.keys(OPAQUE_MOUNTS).sort());
    for (const { path, status } of Object.values(OPAQUE_MOUNTS)) {
      // Served to anyone, without a session.
      const res = await request(app).get(path);
      expect(res.status).toBe(status);
      expect(res.headers['set-cookie']).toBeUndefined();
    }
  });
});

/** 'login' for a redirect to the sign-in page, else the status; a refusal that wrote rows is flagged. */
function outcome(res: { status: number; headers: Record<string, unknown> }, wrote: boolean): Expected | string {
  const location = String(res.headers.location ?? '');
  const shown: Expected = res.status === 303 && location.startsWith('/login?next=') ? 'login' : res.status;
  return res.status >= 400 && wrote ? `${res.status}, but rows were written` : shown;
}

describe('every route × every role', () => {
  // The app's routes, then any the table names that the app no longer has (they fail too).
  const keys = [...appRoutes, ...Object.keys(ROUTE_CASES).filter((k) => !appRoutes.includes(k))];
  for (const key of keys) {
    it(key, async () => {
      const spec = ROUTE_CASES[key];
      if (!spec) throw new Error(`${key} is not in ROUTE_CASES (tests/security/route-cases.ts): add it with the status every role must get`);
      const [method, path] = key.split(' ') as [string, string];
      const actual = {} as Record<Role, Expected | string>;
      for (const role of ROLES) {
        const client = spec.endsSession ? await w.client(role) : clients[role];
        const call = (await spec.call?.(w, role)) ?? {};
        const url = fillPath(path, call.params ?? {}) + (call.query ? `?${call.query}` : '');
        const before = await countRows(db);
        const res = await send(app, client, method, url, call.body);
        const wrote = JSON.stringify(await countRows(db)) !== JSON.stringify(before);
        actual[role] = outcome(res, wrote);
      }
      expect(actual).toEqual(spec.expect);
    });
  }

  it('the roles are what they claim to be (the matrix would prove little otherwise)', async () => {
    // The deactivated user held a working session before the deactivation, and is now deactivated.
    const retired = await db.prisma.user.findUniqueOrThrow({ where: { id: clients.deactivated.actor!.id } });
    expect(retired).toMatchObject({ active: false, role: 'ADMIN' });
    expect((await send(app, clients.technician, 'GET', '/tickets')).text).toContain(clients.technician.actor!.name);
    expect((await send(app, clients.admin, 'GET', '/admin/users')).status).toBe(200);
    expect((await send(app, clients.anonymous, 'GET', '/tickets')).status).toBe(303);
  });
});
