// Done when: a script outside the app does a technician's whole shift through the API (create,
// take, attempted fix, urgency, hand on, resolve, reopen) and the ticket page shows the same
// history as when a signed-in technician does it through the pages — each change named as
// theirs, the API's marked with the token ("Ann Lee · API token “shift script”").
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Express } from 'express';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { signIn, testApp } from '../helpers/http.js';
import { as, buildUser } from '../helpers/factories.js';
import { createPersonalToken } from '../../src/services/api/tokens.js';
import type { Actor } from '../../src/services/context.js';

const run = promisify(execFile);
let db: TestDatabase;
let app: Express;
let server: Server;
let url: string;
let ann: Actor;
let bob: Actor;

beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db);
  server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  ann = await buildUser(db, { name: 'Ann Lee' });
  bob = await buildUser(db, { name: 'Bob Hand' });
});
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await db?.close();
});

/** The ticket page's history and work log as a reader sees them (times and references left out). */
function shown(html: string): { history: string[]; workLog: string[] } {
  const text = (s: string) =>
    s.replace(/<time[^>]*>.*?<\/time>/gs, '').replace(/<[^>]+>/g, ' ').replace(/&[^;]+;/g, (e) => ({ '&#34;': '"', '&#39;': "'", '&amp;': '&' })[e] ?? e).replace(/CB-[0-9A-Z]{6}/g, 'CB-REF').replace(/\s+/g, ' ').trim();
  const history = /data-live="history">(.*?)<\/ol>/s.exec(html)?.[1] ?? '';
  const workLog = /id="worklog"(.*?)<\/section>/s.exec(html)?.[1] ?? '';
  return {
    history: [...history.matchAll(/<li>(.*?)<\/li>/gs)].map((m) => text(m[1]!)),
    workLog: [...workLog.matchAll(/<p class="entry-head">(.*?)<\/p>/gs)].map((m) => text(m[1]!)),
  };
}

it('the API shift and the browser shift leave the same history on the ticket page', async () => {
  // Through the API, by a child process with Ann's personal token.
  const { token } = await createPersonalToken(as(db, ann), { name: 'shift script', scopes: ['tickets:read', 'tickets:write'], expiresInDays: 7 });
  const script = fileURLToPath(new URL('./fixtures/api-shift.mjs', import.meta.url));
  const { stdout } = await run(process.execPath, [script], {
    env: { PATH: process.env.PATH, CASEBOARD_URL: url, CASEBOARD_TOKEN: token, HAND_TO: String(bob.id), CUSTOMER_EMAIL: 'carla-api@customer.test' },
    timeout: 60_000,
  });
  const apiRef = stdout.trim();
  expect(apiRef).toMatch(/^CB-/);

  // Through the pages, by Ann signed in.
  const { agent, csrf } = await signIn(app, ann.email);
  const made = await agent.post('/tickets').type('form').send({
    _csrf: csrf,
    title: 'VPN drops every few minutes',
    description: 'Since the client update the VPN disconnects every few minutes.',
    urgency: 'NORMAL',
    channel: 'PHONE',
    customerName: 'Carla Customer',
    customerEmail: 'carla-pages@customer.test',
  }).expect(303);
  const ref = made.headers.location!.split('/').pop()!;
  const version = async () => (await db.prisma.ticket.findUniqueOrThrow({ where: { reference: ref } })).version;
  const post = async (action: string, body: Record<string, unknown>) =>
    agent.post(`/tickets/${ref}/${action}`).type('form').send({ _csrf: csrf, ...body }).expect(303);
  await post('take', { version: await version() });
  await post('worklog', { kind: 'ATTEMPTED_FIX', body: 'Reinstalled the VPN client.', outcome: 'FAILED' });
  await post('urgency', { version: await version(), urgency: 'HIGH' });
  await post('assign', { version: await version(), assigneeId: bob.id });
  await post('resolve', { version: await version(), resolutionCode: 'FIXED', resolutionNote: 'Rolled the client back to the previous version.' });
  await post('reopen', { version: await version(), reason: 'It dropped again this morning.' });

  const viaApi = shown((await agent.get(`/tickets/${apiRef}`).expect(200)).text);
  const viaPages = shown((await agent.get(`/tickets/${ref}`).expect(200)).text);
  expect(viaPages.history.length).toBeGreaterThanOrEqual(7);
  if (process.env.SHOW_SHIFT) console.log(JSON.stringify({ viaApi, viaPages }, null, 1));
  // Every API change is Ann's, marked with her token; without the mark, the two are the same.
  const mark = ' · API token “shift script”';
  for (const line of viaApi.history.concat(viaApi.workLog)) expect(line).toContain(`Ann Lee${mark}`);
  for (const line of viaPages.history.concat(viaPages.workLog)) expect(line).not.toContain('API token');
  const unmarked = (lines: string[]) => lines.map((l) => l.replace(mark, ''));
  expect(unmarked(viaApi.history)).toEqual(viaPages.history);
  expect(unmarked(viaApi.workLog)).toEqual(viaPages.workLog);

  // The same rows underneath, the API's with the token.
  const rows = async (reference: string) =>
    (await db.prisma.ticketHistory.findMany({ where: { ticket: { reference } }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] })).map((h) => ({
      action: h.action,
      field: h.field,
      actorId: h.actorId,
      tokenUsed: h.apiTokenId !== null,
    }));
  expect((await rows(apiRef)).map((r) => ({ ...r, tokenUsed: false }))).toEqual(await rows(ref));
  expect((await rows(apiRef)).every((r) => r.tokenUsed)).toBe(true);
}, 90_000);
