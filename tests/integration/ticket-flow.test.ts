// The technician's whole flow through HTTP, and the timeline that records it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { buildUser } from '../helpers/factories.js';
import { signIn, testApp } from '../helpers/http.js';
import type { Actor } from '../../src/services/context.js';

let db: TestDatabase;
let app: Express;
let anna: Actor;
let bob: Actor;

beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db);
  anna = await buildUser(db, { name: 'Anna Tech' });
  bob = await buildUser(db, { name: 'Bob Tech' });
});
afterAll(() => db?.close());

describe('a technician works a ticket from phone call to resolution', () => {
  it('records every step with who did it', async () => {
    const { agent, csrf } = await signIn(app, anna.email);
    const created = await agent
      .post('/tickets')
      .type('form')
      .send({
        _csrf: csrf,
        title: 'VPN drops every 10 minutes',
        description: 'Customer loses the VPN connection every ten minutes.',
        urgency: 'NORMAL',
        channel: 'PHONE',
        customerName: 'Carla Client',
        customerEmail: 'Carla@Example.com',
        environment: 'Windows 11, FortiClient 7.2',
        occurrence: 'Since Monday, on Wi-Fi only',
      })
      .expect(303);
    const url = created.headers.location as string;
    expect(url).toMatch(/^\/tickets\/CB-[0-9A-HJKMNP-TV-Z]{7}$/);
    const reference = url.split('/').pop()!;

    const version = async () => (await db.prisma.ticket.findUniqueOrThrow({ where: { reference } })).version;
    const post = (action: string, body: Record<string, string | number>) =>
      agent.post(`${url}/${action}`).type('form').send({ _csrf: csrf, ...body });

    await post('take', { version: await version() }).expect(303);
    await post('worklog', { kind: 'ATTEMPTED_FIX', body: 'Disabled Wi-Fi power saving', outcome: 'FAILED' }).expect(303);
    await post('urgency', { version: await version(), urgency: 'HIGH' }).expect(303);
    await post('status', { version: await version(), status: 'IN_PROGRESS' }).expect(303);
    await post('assign', { version: await version(), assigneeId: bob.id }).expect(303);
    await post('resolve', {
      version: await version(),
      resolutionCode: 'WORKAROUND',
      resolutionNote: 'Use the wired network until the driver update.',
    }).expect(303);
    await post('reopen', { version: await version(), reason: 'Customer says it still drops' }).expect(303);

    const ticket = await db.prisma.ticket.findUniqueOrThrow({ where: { reference }, include: { customer: true } });
    expect(ticket).toMatchObject({
      status: 'OPEN',
      urgency: 'HIGH',
      assigneeId: bob.id,
      resolutionCode: 'WORKAROUND', // reopening keeps the resolution
      resolutionNote: 'Use the wired network until the driver update.',
    });
    expect(ticket.customer.email).toBe('carla@example.com');

    const history = await db.prisma.ticketHistory.findMany({
      where: { ticketId: ticket.id },
      orderBy: { id: 'asc' },
      include: { actor: true },
    });
    expect(history.map((h) => [h.action, h.field, h.oldValue, h.newValue, h.actor?.name])).toEqual([
      ['CREATED', null, null, expect.any(String), 'Anna Tech'],
      // Taking a new ticket opens it: one change, two rows.
      ['CHANGED', 'status', 'NEW', 'OPEN', 'Anna Tech'],
      ['CHANGED', 'assigneeId', null, 'Anna Tech', 'Anna Tech'],
      ['WORKLOG_ADDED', 'ATTEMPTED_FIX', null, 'FAILED', 'Anna Tech'],
      ['CHANGED', 'urgency', 'NORMAL', 'HIGH', 'Anna Tech'],
      ['CHANGED', 'status', 'OPEN', 'IN_PROGRESS', 'Anna Tech'],
      ['CHANGED', 'assigneeId', 'Anna Tech', 'Bob Tech', 'Anna Tech'],
      ['CHANGED', 'status', 'IN_PROGRESS', 'RESOLVED', 'Anna Tech'],
      ['CHANGED', 'resolutionCode', null, 'WORKAROUND', 'Anna Tech'],
      ['CHANGED', 'resolutionNote', null, 'Use the wired network until the driver update.', 'Anna Tech'],
      ['CHANGED', 'status', 'RESOLVED', 'OPEN', 'Anna Tech'],
      ['WORKLOG_ADDED', 'NOTE', null, null, 'Anna Tech'],
    ]);

    // The ticket page tells the whole story.
    const page = await agent.get(url).expect(200);
    for (const text of [
      reference,
      'VPN drops every 10 minutes',
      'took the ticket',
      'changed status from New to Open',
      'logged an attempted fix: Did not help',
      'changed urgency from Normal to High',
      'changed status from Open to In progress',
      'handed the ticket to Bob Tech (from Anna Tech)',
      'changed resolution from — to Workaround provided',
      'changed status from Resolved to Open',
      'Disabled Wi-Fi power saving',
      'Reopened: Customer says it still drops',
    ]) {
      expect(page.text).toContain(text);
    }
  });
});
