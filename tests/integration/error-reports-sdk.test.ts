// The real @sentry/node SDK (v11), in a child process, configured with a DSN pointing at
// Caseboard (a real server on an ephemeral port): no code of ours on the sending side.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import express from 'express';
import { createApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import type { Actor } from '../../src/services/context.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { as, buildUser } from '../helpers/factories.js';
import { createErrorProject, dsnFor } from '../../src/services/errors/projects.js';
import { ErrorIntake } from '../../src/services/errors/intake.js';
import { resolveTicket } from '../../src/services/tickets/resolve-ticket.js';
import type { ErrorProject } from '../../src/generated/prisma/client.js';

const run = promisify(execFile);
const FIXTURE = fileURLToPath(new URL('./fixtures/sentry-app.mjs', import.meta.url));

let db: TestDatabase;
let server: Server;
let intake: ErrorIntake;
let admin: Actor;
let project: ErrorProject;
let dsn: string;
const encodings: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  intake = new ErrorIntake(db.prisma, { flushMs: 50, perMinute: 1000 });
  const app = createApp({ db, config: loadConfig({ NODE_ENV: 'test' }), sessionSecret: 'test-secret-that-is-long-enough-1234567890', pruneSessions: false, errorIntake: intake });
  // What the SDK sent, as seen in front of the app.
  const outer = express();
  outer.use((req, _res, next) => {
    encodings.push(req.get('content-encoding') ?? 'identity');
    next();
  });
  outer.use(app);
  server = outer.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  admin = await buildUser(db, { role: 'ADMIN' });
  const team = await db.prisma.team.findFirstOrThrow({ where: { isDefault: true } });
  const created = await createErrorProject(as(db, admin), { name: 'Checkout app', teamId: team.id, urgency: 'HIGH', perMinute: null, customerName: 'Shop', customerEmail: 'ops@shop.example' });
  project = created.project;
  dsn = dsnFor(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, created.key, project.id);
});
afterAll(async () => {
  await intake?.stop();
  await new Promise((resolve) => server?.close(resolve));
  await db?.close();
});

/** Runs the application once; its event is written when this returns. */
async function report(which: 'total' | 'coupon', release: string, size: 'small' | 'large' = 'small') {
  await run(process.execPath, [FIXTURE, which, release, size], { env: { ...process.env, SENTRY_DSN: dsn }, timeout: 60_000 });
  await intake.flush();
}
const problems = () => db.prisma.errorProblem.findMany({ where: { projectId: project.id }, orderBy: { id: 'asc' }, include: { ticket: true } });

describe('@sentry/node reporting to Caseboard', () => {
  it('an exception makes a ticket; the same again counts; a different one is a second ticket; a resolved one seen in a newer release reopens', async () => {
    await report('total', '1.0.0');
    let all = await problems();
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ type: 'TypeError', count: 1n, releases: ['checkout@1.0.0'], environments: ['staging'] });
    expect(all[0]!.ticket).toMatchObject({ channel: 'AUTOMATIC', createdById: project.serviceUserId, urgency: 'HIGH' });
    const [event] = await db.prisma.errorEvent.findMany({ where: { problemId: all[0]!.id } });
    const data = event!.data as { exceptions: { frames: { function: string | null; inApp: boolean }[] }[]; user: Record<string, string>; tags: string[][]; breadcrumbs: { message: string }[] };
    expect(data.exceptions[0]!.frames.filter((f) => f.inApp).map((f) => f.function)).toEqual(expect.arrayContaining(['checkout', 'computeTotal']));
    expect(data.user).toMatchObject({ id: 'u-7', email: 'buyer@example.com' });
    expect(data.tags).toContainEqual(['region', 'eu-west']);
    expect(data.breadcrumbs.map((b) => b.message)).toContain('added 2 items');

    await report('total', '1.0.0');
    all = await problems();
    expect(all).toHaveLength(1);
    expect(all[0]!.count).toBe(2n);

    // A large event: the SDK gzips it.
    const sent = encodings.length;
    await report('coupon', '1.0.0', 'large');
    expect(encodings.slice(sent)).toContain('gzip');
    all = await problems();
    expect(all).toHaveLength(2);
    expect(all[1]).toMatchObject({ type: 'RangeError', count: 1n });
    expect(all[1]!.ticketId).not.toBe(all[0]!.ticketId);

    // Fixed in 1.0.0 (the newest release seen when it was resolved).
    await resolveTicket(as(db, admin), { reference: all[0]!.ticket.reference, version: all[0]!.ticket.version }, { code: 'FIXED', note: 'Fixed in 1.0.0.' });
    await report('total', '0.9.0');
    expect((await problems())[0]!.ticket.status).toBe('RESOLVED');
    await report('total', '1.1.0');
    all = await problems();
    expect(all[0]!.ticket.status).toBe('OPEN');
    expect(all[0]!.count).toBe(4n);
    const reopened = await db.prisma.ticketHistory.findFirstOrThrow({ where: { ticketId: all[0]!.ticketId, field: 'status', newValue: 'OPEN' }, include: { actor: true } });
    expect(reopened.actor?.name).toBe('Checkout app');
  });
});
