import type { Express } from 'express';
import { expect } from 'vitest';
import request from 'supertest';
import type { Config } from '../../src/config/env.js';
import { loadConfig } from '../../src/config/env.js';
import { createApp } from '../../src/app.js';
import type { Database } from '../../src/db/client.js';
import { PASSWORD } from './factories.js';
import { countRows } from './db.js';

export function testApp(db: Database, env: Record<string, string> = {}): Express {
  const config: Config = loadConfig({ NODE_ENV: 'test', ...env });
  return createApp({ db, config, sessionSecret: 'test-secret-that-is-long-enough-1234567890', pruneSessions: false });
}

/** The CSRF token in a rendered page's forms. */
export function csrfOf(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m?.[1]) throw new Error('page has no CSRF token');
  return m[1];
}

/**
 * A person opening a private access link and pressing its "Show my request" button (link
 * scanners only GET): afterwards the link shows the ticket. Returns that page.
 */
export async function confirmLink(agent: ReturnType<typeof request.agent>, token: string) {
  const page = await agent.get(`/s/${token}`).expect(200);
  await agent.post(`/s/${token}/confirm`).type('form').send({ _csrf: csrfOf(page.text) }).expect(303).expect('Location', `/s/${token}`);
  return agent.get(`/s/${token}`).expect(200);
}

/** A browser-like client signed in as the given user; `csrf` is a valid token for its forms. */
export async function signIn(app: Express, email: string, password = PASSWORD) {
  const agent = request.agent(app);
  const page = await agent.get('/login').expect(200);
  await agent.post('/login').type('form').send({ email, password, _csrf: csrfOf(page.text) }).expect(303);
  const after = await agent.get('/tickets').expect(200);
  return { agent, csrf: csrfOf(after.text) };
}

/** Sends a request that must be refused with `status` and these texts, and proves no row was written. */
export async function expectRefused(
  db: Database,
  send: () => PromiseLike<{ status: number; text: string }>,
  status: number,
  ...texts: string[]
) {
  const before = await countRows(db);
  const res = await send();
  expect(res.status).toBe(status);
  for (const t of texts) expect(res.text).toContain(t);
  expect(await countRows(db)).toEqual(before);
  return res;
}
