// Who may call which API operation: every /api/v1 operation (read from the registry the router is
// built from) × every kind of bearer credential, with the status each must get; a refusal writes
// nothing. No token, an unknown, a revoked or an expired token: 401. A token with every scope
// but the operation's: 403. A token with the scope: what its user's role allows (the service
// layer's own assertCan still decides: a technician's token given users:manage is refused).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import type { Express } from 'express';
import { countRows, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { testApp } from '../helpers/http.js';
import { buildUser, as } from '../helpers/factories.js';
import { createPersonalToken, revokeToken } from '../../src/services/api/tokens.js';
import { SCOPE_NAMES, type Scope } from '../../src/services/api/scopes.js';
import { API_OPERATIONS } from '../../src/web/api/operations/index.js';
import { routeKeys, fillPath } from './routes.js';
import { API_CASES, World, type ApiCall } from './route-cases.js';
import type { Actor } from '../../src/services/context.js';

const db: TestDatabase = await createTestDatabase();
const app: Express = testApp(db);
let w: World;
const tokens = {} as Record<'technician' | 'admin' | 'revoked' | 'expired' | 'unknown', string>;
let tech: Actor;
let admin: Actor;

async function tokenOf(user: Actor, scopes: readonly Scope[]): Promise<string> {
  return (await createPersonalToken(as(db, user), { name: `matrix ${scopes.length}`, scopes: scopes.filter((s) => s !== 'users:manage' || user.role === 'ADMIN'), expiresInDays: 7 })).token;
}

/** A token with every scope but one (technicians never have users:manage). */
const without: Record<string, Record<string, string>> = { technician: {}, admin: {} };

beforeAll(async () => {
  w = await World.create(db, app);
  tech = await buildUser(db, { name: 'Api Technician' });
  admin = await buildUser(db, { role: 'ADMIN', name: 'Api Admin' });
  tokens.technician = await tokenOf(tech, SCOPE_NAMES);
  // Given users:manage directly in the database: the service layer must still refuse a technician.
  await db.pool.query(`UPDATE "ApiToken" SET scopes = $1 WHERE id = (SELECT max(id) FROM "ApiToken")`, [SCOPE_NAMES]);
  tokens.admin = await tokenOf(admin, SCOPE_NAMES);
  const revoked = await createPersonalToken(as(db, admin), { name: 'revoked', scopes: SCOPE_NAMES, expiresInDays: 7 });
  await revokeToken(as(db, admin), revoked.id);
  tokens.revoked = revoked.token;
  tokens.expired = await tokenOf(admin, SCOPE_NAMES);
  await db.pool.query(`UPDATE "ApiToken" SET "expiresAt" = now() - interval '1 minute' WHERE id = (SELECT max(id) FROM "ApiToken")`);
  tokens.unknown = 'cbt_' + 'A'.repeat(43);
  for (const s of SCOPE_NAMES) {
    without.admin![s] = await tokenOf(admin, SCOPE_NAMES.filter((x) => x !== s));
  }
});
afterAll(() => db?.close());

function send(method: string, path: string, call: ApiCall, token: string | null) {
  const url = fillPath(path, call.params ?? {}) + (call.query ? `?${call.query}` : '');
  const m = method.toLowerCase() as 'get' | 'post' | 'patch' | 'put' | 'delete';
  let req = request(app)[m](url);
  if (token) req = req.set('Authorization', `Bearer ${token}`);
  if (call.ifMatch !== undefined) req = req.set('If-Match', `"${call.ifMatch}"`);
  return m === 'get' ? req : req.send((call.body ?? {}) as object);
}

describe('the API matrix', () => {
  it('has a case for every API operation the app serves, and none it does not', () => {
    const served = routeKeys(app).filter((k) => k.includes(' /api/v1/') && !['GET /api/v1/openapi.json', 'GET /api/v1/docs'].includes(k));
    expect(served.sort()).toEqual(Object.keys(API_CASES).sort());
  });

  for (const op of API_OPERATIONS) {
    const key = `${op.method.toUpperCase()} /api/v1${op.path}`;
    it(`${key} (scope ${op.scope})`, async () => {
      const spec = API_CASES[key];
      if (!spec) throw new Error(`${key} has no entry in API_CASES (tests/security/route-cases.ts)`);
      const path = `/api/v1${op.path}`;
      const actual: Record<string, number | string> = {};
      const refusals: [string, string | null, number][] = [
        ['no token', null, 401],
        ['unknown token', tokens.unknown, 401],
        ['revoked token', tokens.revoked, 401],
        ['expired token', tokens.expired, 401],
        ['token without the scope', without.admin![op.scope]!, 403],
      ];
      const expected: Record<string, number | string> = {};
      for (const [what, token, status] of refusals) {
        const call = await spec.call(w);
        const before = await countRows(db);
        const res = await send(op.method, path, call, token);
        const wrote = JSON.stringify(await countRows(db)) !== JSON.stringify(before);
        actual[what] = wrote ? `${res.status}, but rows were written` : res.status;
        expected[what] = status;
        expect(res.headers['content-type'], what).toMatch(/^application\/problem\+json/);
      }
      for (const role of ['technician', 'admin'] as const) {
        const call = await spec.call(w);
        const res = await send(op.method, path, call, tokens[role]);
        actual[role] = res.status;
        expected[role] = spec.ok[role];
      }
      expect(actual).toEqual(expected);
    });
  }
});
