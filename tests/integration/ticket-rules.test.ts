// The rules of a ticket's life, enforced by the service layer, each with the history it writes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, countRows, type TestDatabase } from '../helpers/db.js';
import { as, buildTicket, buildUser } from '../helpers/factories.js';
import type { Actor } from '../../src/services/context.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../src/services/errors.js';
import { changeStatus } from '../../src/services/tickets/change-status.js';
import { changeUrgency } from '../../src/services/tickets/change-urgency.js';
import { assignTicket, takeTicket } from '../../src/services/tickets/assign-ticket.js';
import { resolveTicket } from '../../src/services/tickets/resolve-ticket.js';
import { reopenTicket } from '../../src/services/tickets/reopen-ticket.js';
import { addWorkLog } from '../../src/services/tickets/add-work-log.js';
import { updateTicketDetails } from '../../src/services/tickets/update-details.js';
import { createTicket } from '../../src/services/tickets/create-ticket.js';
import { listQueue } from '../../src/services/tickets/queue.js';
import { ACTIVE_STATUSES } from '../../src/domain/status.js';

let db: TestDatabase;
let tech: Actor;
let other: Actor;
let retired: Actor;

beforeAll(async () => {
  db = await createTestDatabase();
  tech = await buildUser(db, { name: 'Tess Tech' });
  other = await buildUser(db, { name: 'Otto Other' });
  retired = await buildUser(db, { name: 'Rita Retired', active: false });
});
afterAll(() => db?.close());

const fresh = async (reference: string) => db.prisma.ticket.findUniqueOrThrow({ where: { reference } });
const at = (t: { reference: string; version: number }) => ({ reference: t.reference, version: t.version });
const historyOf = (ticketId: number) =>
  db.prisma.ticketHistory.findMany({ where: { ticketId }, orderBy: { id: 'asc' } });

/** Runs a change that must be refused, and proves it wrote nothing. */
async function refused(run: () => Promise<unknown>, error: new (...a: never[]) => Error, message?: RegExp) {
  const before = await countRows(db);
  const outcome = run();
  await expect(outcome).rejects.toBeInstanceOf(error);
  if (message) await expect(outcome).rejects.toThrow(message);
  expect(await countRows(db)).toEqual(before);
}

describe('creating a ticket', () => {
  it('gives it a unique, readable reference and a creation history row, reusing a known customer', async () => {
    const a = await buildTicket(db, tech, { customer: { name: 'Cy', email: 'cy@example.com' } });
    const b = await buildTicket(db, tech, { customer: { name: 'Cy again', email: 'CY@example.com' } });
    expect(a.reference).toMatch(/^CB-[0-9A-HJKMNP-TV-Z]{7}$/);
    expect(a.reference).not.toBe(b.reference);
    expect(a.customerId).toBe(b.customerId);
    const [created] = await historyOf(a.id);
    expect(created).toMatchObject({ action: 'CREATED', actorId: tech.id, ticketVersion: 1 });
    expect(JSON.parse(created!.newValue!)).toMatchObject({ urgency: 'NORMAL', status: 'NEW', customer: 'Cy' });
  });

  it('refuses an empty title and writes nothing', async () => {
    await refused(
      () =>
        createTicket(as(db, tech), {
          title: '   ',
          description: 'x',
          channel: 'PHONE',
          urgency: 'LOW',
          customer: { name: 'N', email: 'n@example.com' },
        }),
      ValidationError,
      /title is required/i,
    );
  });
});

describe('status', () => {
  it('follows NEW → OPEN → IN_PROGRESS ⇄ WAITING_ON_CUSTOMER and says what is allowed otherwise', async () => {
    let t = await buildTicket(db, tech);
    t = await changeStatus(as(db, tech), at(t), 'OPEN');
    await refused(() => changeStatus(as(db, tech), at(t), 'WAITING_ON_CUSTOMER'), ValidationError, /From Open it can go to: In progress, Resolved/);
    t = await changeStatus(as(db, tech), at(t), 'IN_PROGRESS');
    t = await changeStatus(as(db, tech), at(t), 'WAITING_ON_CUSTOMER');
    t = await changeStatus(as(db, tech), at(t), 'IN_PROGRESS');
    await refused(() => changeStatus(as(db, tech), at(t), 'NEW'), ValidationError, /cannot go from In progress to New/);
    await refused(() => changeStatus(as(db, tech), at(t), 'RESOLVED'), ValidationError, /use Resolve/);
    expect((await historyOf(t.id)).filter((h) => h.field === 'status').map((h) => `${h.oldValue}>${h.newValue}`)).toEqual([
      'NEW>OPEN',
      'OPEN>IN_PROGRESS',
      'IN_PROGRESS>WAITING_ON_CUSTOMER',
      'WAITING_ON_CUSTOMER>IN_PROGRESS',
    ]);
  });

  it('starting work on an unassigned ticket makes the starter its owner, in the same change', async () => {
    const t = await buildTicket(db, tech);
    const started = await changeStatus(as(db, other), at(t), 'IN_PROGRESS');
    expect(started.assigneeId).toBe(other.id);
    const rows = (await historyOf(t.id)).filter((h) => h.action === 'CHANGED');
    expect(rows.map((h) => [h.field, h.newValue, h.ticketVersion])).toEqual([
      ['status', 'IN_PROGRESS', 2],
      ['assigneeId', 'Otto Other', 2],
    ]);
  });

  it('a closed ticket is final: no change, no note', async () => {
    let t = await buildTicket(db, tech);
    t = await resolveTicket(as(db, tech), at(t), { code: 'FIXED', note: 'Replaced the toner.' });
    t = await changeStatus(as(db, tech), at(t), 'CLOSED');
    await refused(() => changeStatus(as(db, tech), at(t), 'OPEN'), ValidationError, /closed tickets are final/);
    await refused(() => reopenTicket(as(db, tech), at(t)), ValidationError, /final/);
    await refused(() => changeUrgency(as(db, tech), at(t), 'HIGH'), ValidationError, /final/);
    await refused(() => addWorkLog(as(db, tech), t.reference, { kind: 'NOTE', body: 'late note' }), ValidationError, /final/);
  });
});

describe('ownership', () => {
  it('a technician takes an unassigned ticket, but not one somebody owns', async () => {
    const t = await buildTicket(db, tech);
    const taken = await takeTicket(as(db, tech), at(t));
    expect(taken.assigneeId).toBe(tech.id);
    await refused(() => takeTicket(as(db, other), at(taken)), ConflictError, /already has an owner/);
  });

  it('taking a NEW ticket opens it, in the same change: an owner row and a status row of one version', async () => {
    const t = await buildTicket(db, tech);
    const taken = await takeTicket(as(db, tech), at(t));
    expect(taken).toMatchObject({ status: 'OPEN', assigneeId: tech.id, version: t.version + 1 });
    expect(await fresh(t.reference)).toMatchObject({ status: 'OPEN', assigneeId: tech.id, version: t.version + 1 });
    const rows = (await historyOf(t.id)).filter((h) => h.action === 'CHANGED');
    expect(rows.map((h) => [h.field, h.oldValue, h.newValue, h.newRefId, h.actorId, h.ticketVersion])).toEqual([
      ['status', 'NEW', 'OPEN', null, tech.id, 2],
      ['assigneeId', null, 'Tess Tech', tech.id, tech.id, 2],
    ]);
  });

  it('assigning a NEW ticket to anyone opens it; handing it back to nobody does not make it NEW again', async () => {
    const t = await buildTicket(db, tech);
    const handed = await assignTicket(as(db, tech), at(t), other.id);
    expect(handed).toMatchObject({ status: 'OPEN', assigneeId: other.id });
    const dropped = await assignTicket(as(db, other), at(handed), null);
    expect(dropped).toMatchObject({ status: 'OPEN', assigneeId: null });
    const rows = (await historyOf(t.id)).filter((h) => h.action === 'CHANGED');
    expect(rows.map((h) => [h.field, h.oldValue, h.newValue, h.ticketVersion])).toEqual([
      ['status', 'NEW', 'OPEN', 2],
      ['assigneeId', null, 'Otto Other', 2],
      ['assigneeId', 'Otto Other', null, 3],
    ]);
    // A ticket further along keeps its status when it changes hands.
    const u = await changeStatus(as(db, tech), at(await buildTicket(db, tech)), 'IN_PROGRESS');
    expect(await assignTicket(as(db, tech), at(u), other.id)).toMatchObject({ status: 'IN_PROGRESS', assigneeId: other.id });
    // A refused assignment opens nothing.
    const v = await buildTicket(db, tech);
    await refused(() => assignTicket(as(db, tech), at(v), retired.id), ValidationError, /deactivated/);
    expect((await fresh(v.reference)).status).toBe('NEW');
  });

  it('starting work on an unassigned ticket still makes the starter its owner', async () => {
    const t = await buildTicket(db, tech);
    expect(await changeStatus(as(db, other), at(t), 'IN_PROGRESS')).toMatchObject({ status: 'IN_PROGRESS', assigneeId: other.id });
  });

  it('any technician hands any ticket to an active colleague, never to a deactivated one', async () => {
    const t = await buildTicket(db, tech, { assignToMe: true });
    const handed = await assignTicket(as(db, other), at(t), other.id);
    expect(handed.assigneeId).toBe(other.id);
    await refused(() => assignTicket(as(db, tech), at(handed), retired.id), ValidationError, /deactivated/);
    await refused(() => assignTicket(as(db, tech), at(handed), 999_999), ValidationError, /does not exist/);
    const rows = (await historyOf(t.id)).filter((h) => h.field === 'assigneeId');
    expect(rows.map((h) => [h.oldRefId, h.newRefId, h.oldValue, h.newValue, h.actorId])).toEqual([
      [tech.id, other.id, 'Tess Tech', 'Otto Other', other.id],
    ]);
  });
});

describe('resolution', () => {
  it('needs a code and a note', async () => {
    const t = await buildTicket(db, tech);
    await refused(() => resolveTicket(as(db, tech), at(t), { code: 'FIXED', note: '  ' }), ValidationError, /resolution note is required/i);
  });

  it('a duplicate must name an existing original (not itself)', async () => {
    const original = await buildTicket(db, tech);
    const t = await buildTicket(db, tech);
    await refused(() => resolveTicket(as(db, tech), at(t), { code: 'DUPLICATE', note: 'same' }), ValidationError, /needs the reference/);
    await refused(
      () => resolveTicket(as(db, tech), at(t), { code: 'DUPLICATE', note: 'same', duplicateOf: 'CB-ZZZZZZZ' }),
      ValidationError,
      /No ticket has the reference/,
    );
    await refused(
      () => resolveTicket(as(db, tech), at(t), { code: 'DUPLICATE', note: 'same', duplicateOf: t.reference }),
      ValidationError,
      /itself/,
    );
    // Typed the way people read it over the phone: lower case, no prefix, spaces.
    const typed = original.reference.slice(3).toLowerCase().replace(/(...)/, '$1 ');
    const resolved = await resolveTicket(as(db, tech), at(t), { code: 'DUPLICATE', note: 'same', duplicateOf: typed });
    expect(resolved).toMatchObject({ status: 'RESOLVED', resolutionCode: 'DUPLICATE', duplicateOfId: original.id });
    expect(resolved.resolvedAt).toBeInstanceOf(Date);
    const dup = (await historyOf(t.id)).find((h) => h.field === 'duplicateOfId');
    expect(dup).toMatchObject({ newRefId: original.id, newValue: original.reference });
  });

  it('reopening keeps the code and note; the history keeps both', async () => {
    let t = await buildTicket(db, tech);
    t = await resolveTicket(as(db, tech), at(t), { code: 'KNOWN_ISSUE', note: 'Vendor bug 1234.' });
    t = await reopenTicket(as(db, other), at(t), 'Happened again');
    expect(t).toMatchObject({ status: 'OPEN', resolutionCode: 'KNOWN_ISSUE', resolutionNote: 'Vendor bug 1234.' });
    await refused(() => reopenTicket(as(db, tech), at(t)), ValidationError, /cannot go from Open to Open/);
    const note = await db.prisma.workLogEntry.findFirstOrThrow({ where: { ticketId: t.id } });
    expect(note).toMatchObject({ kind: 'NOTE', body: 'Reopened: Happened again', authorId: other.id });
  });
});

describe('work log', () => {
  it('an attempted fix needs its outcome; each entry writes a history row', async () => {
    const t = await buildTicket(db, tech);
    await refused(() => addWorkLog(as(db, tech), t.reference, { kind: 'ATTEMPTED_FIX', body: 'Rebooted' }), ValidationError, /how the attempted fix went/);
    const entry = await addWorkLog(as(db, tech), t.reference, { kind: 'ATTEMPTED_FIX', body: 'Rebooted', outcome: 'PARTIAL' });
    const row = (await historyOf(t.id)).at(-1);
    expect(row).toMatchObject({ action: 'WORKLOG_ADDED', field: 'ATTEMPTED_FIX', newValue: 'PARTIAL', newRefId: entry.id, actorId: tech.id });
  });

  it('an unknown reference is a NotFoundError', async () => {
    await refused(() => addWorkLog(as(db, tech), 'CB-0000000', { kind: 'NOTE', body: 'x' }), NotFoundError);
  });
});

describe('no lost updates', () => {
  it('of two concurrent edits from the same version, exactly one wins; the other is a conflict', async () => {
    const t = await buildTicket(db, tech);
    const results = await Promise.allSettled([
      updateTicketDetails(as(db, tech), at(t), { title: 'Edit by Tess', description: t.description, channel: 'PHONE', environment: null, occurrence: null, workaround: null }),
      updateTicketDetails(as(db, other), at(t), { title: 'Edit by Otto', description: t.description, channel: 'EMAIL', environment: null, occurrence: null, workaround: null }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toBeInstanceOf(ConflictError);
    const now = await fresh(t.reference);
    expect(now.version).toBe(2);
    const rows = (await historyOf(t.id)).filter((h) => h.action === 'CHANGED');
    // Only the winner's fields are in the history, all from one actor.
    expect(new Set(rows.map((h) => h.actorId)).size).toBe(1);
    expect(rows.find((h) => h.field === 'title')?.newValue).toBe(now.title);
  });

  it('a form based on an old version is refused even when nothing runs at the same time', async () => {
    const t = await buildTicket(db, tech);
    await changeUrgency(as(db, tech), at(t), 'HIGH');
    await refused(() => changeUrgency(as(db, other), at(t), 'LOW'), ConflictError, /changed by someone else/);
    expect((await fresh(t.reference)).urgency).toBe('HIGH');
  });

  it('a change to nothing writes nothing', async () => {
    const t = await buildTicket(db, tech);
    await refused(() => changeUrgency(as(db, tech), at(t), 'NORMAL').then(() => Promise.reject(new ValidationError('no-op'))), ValidationError);
    expect((await fresh(t.reference)).version).toBe(1);
  });
});

describe('the queue', () => {
  it('puts critical first, then the oldest, and pages with a cursor without gaps or repeats', async () => {
    const qdb = await createTestDatabase();
    try {
      const me = await buildUser(qdb);
      const made = [];
      for (const urgency of ['LOW', 'CRITICAL', 'NORMAL', 'NONE', 'HIGH', 'CRITICAL', 'NORMAL'] as const) {
        made.push(await buildTicket(qdb, me, { urgency }));
      }
      let done = await buildTicket(qdb, me, { urgency: 'CRITICAL' });
      done = await resolveTicket(as(qdb, me), at(done), { code: 'FIXED', note: 'ok' });
      await changeStatus(as(qdb, me), at(made[2]!), 'IN_PROGRESS'); // another status, same queue

      const page = await listQueue(as(qdb, me), { statuses: ACTIVE_STATUSES, assignee: 'anyone' });
      const rank = { CRITICAL: 0, HIGH: 1, NORMAL: 2, LOW: 3, NONE: 4 };
      const expected = [...made]
        .map((t, i) => ({ ...t, i }))
        .sort((a, b) => rank[a.urgency] - rank[b.urgency] || a.i - b.i)
        .map((t) => t.reference);
      expect(page.rows.map((r) => r.reference)).toEqual(expected);
      expect(page.rows.map((r) => r.reference)).not.toContain(done.reference);
      expect(page.counts).toEqual({ CRITICAL: 2, HIGH: 1, NORMAL: 2, LOW: 1, NONE: 1 });

      // Keyset pages of 50 over 120 tickets: every ticket exactly once, in order.
      for (let i = 0; i < 113; i++) await buildTicket(qdb, me, { urgency: i % 3 ? 'LOW' : 'HIGH' });
      const seen: string[] = [];
      let after;
      do {
        const p = await listQueue(as(qdb, me), { statuses: ACTIVE_STATUSES, assignee: 'anyone', after });
        seen.push(...p.rows.map((r) => r.reference));
        after = p.next ?? undefined;
      } while (after);
      expect(seen).toHaveLength(120);
      expect(new Set(seen).size).toBe(120);
      expect(seen.slice(0, 7)).toEqual(expected.slice(0, 2).concat(seen.slice(2, 7))); // criticals lead

      const mine = await listQueue(as(qdb, me), { statuses: ACTIVE_STATUSES, assignee: 'me' });
      expect(mine.rows.map((r) => r.reference)).toEqual([made[2]!.reference]);
      const byRef = await listQueue(as(qdb, me), { statuses: ['NEW'], assignee: 'anyone', text: done.reference.toLowerCase() });
      expect(byRef.rows.map((r) => r.reference)).toEqual([done.reference]); // a reference finds any status
    } finally {
      await qdb.close();
    }
  });
});

describe('permissions', () => {
  it('a deactivated user cannot be given tickets, and only admins manage users', async () => {
    const { createUser } = await import('../../src/services/users/manage-users.js');
    await refused(
      () => createUser(as(db, tech), { email: 'x@example.com', name: 'X', role: 'ADMIN', password: 'long-enough-password' }),
      ForbiddenError,
    );
  });
});
