// Tokens and requests for the API tests.
import request from 'supertest';
import type { Express } from 'express';
import type { Database } from '../../src/db/client.js';
import type { Actor } from '../../src/services/context.js';
import { createPersonalToken, createServiceToken } from '../../src/services/api/tokens.js';
import { SCOPE_NAMES, grantableScopes, type Scope } from '../../src/services/api/scopes.js';
import { as } from './factories.js';

/** A personal token of `user` with these scopes (default: every scope their role may have). */
export async function personalToken(db: Database, user: Actor, scopes: readonly Scope[] = grantableScopes(user.role), days = 30): Promise<string> {
  return (await createPersonalToken(as(db, user), { name: `test token ${Math.random().toString(36).slice(2, 8)}`, scopes, expiresInDays: days })).token;
}

export async function serviceToken(db: Database, admin: Actor, role: 'TECHNICIAN' | 'ADMIN' = 'TECHNICIAN', scopes: readonly Scope[] = SCOPE_NAMES): Promise<string> {
  return (await createServiceToken(as(db, admin), { name: `service ${Math.random().toString(36).slice(2, 8)}`, scopes, expiresInDays: 30, role })).token;
}

/** A request with the bearer token. */
export function api(app: Express, token: string | null) {
  const r = request(app);
  const auth = <T extends { set(k: string, v: string): T }>(req: T) => (token ? req.set('Authorization', `Bearer ${token}`) : req);
  return {
    get: (path: string) => auth(r.get(`/api/v1${path}`)),
    post: (path: string, body?: unknown) => auth(r.post(`/api/v1${path}`)).send(body as object),
    patch: (path: string, body?: unknown) => auth(r.patch(`/api/v1${path}`)).send(body as object),
    put: (path: string, body?: unknown) => auth(r.put(`/api/v1${path}`)).send(body as object),
  };
}

export const newTicketBody = (n: string | number = Date.now()) => ({
  title: `Printer offline ${n}`,
  description: 'The second-floor printer shows offline since this morning.',
  urgency: 'NORMAL',
  customer: { name: 'Ann Customer', email: `ann-${n}@customer.test` },
});
