// Service accounts (User.kind SERVICE): the users programs act as — an API service token's, an
// error-reporting project's. They act through the same services as people, and history names
// them; but they never sign in, are in no team, own no ticket, are nobody's @mention and get no
// notifications.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, countRows, type TestDatabase } from '../helpers/db.js';
import { as, buildTicket, buildUser } from '../helpers/factories.js';
import type { Actor } from '../../src/services/context.js';
import type { User } from '../../src/generated/prisma/client.js';
import { createServiceUser } from '../../src/services/users/service-users.js';
import { authenticate } from '../../src/services/users/authenticate.js';
import { listAssignableUsers, invalidateStaffCache } from '../../src/services/users/list-users.js';
import { listNonMembers } from '../../src/services/teams/teams.js';
import { addTeamMember } from '../../src/services/teams/manage-teams.js';
import { resetPassword } from '../../src/services/users/manage-users.js';
import { resolveMentions } from '../../src/services/notifications/mentions.js';
import { addWorkLog } from '../../src/services/tickets/add-work-log.js';
import { ValidationError } from '../../src/services/errors.js';

let db: TestDatabase;
let admin: Actor;
let service: User;
let actor: Actor;

beforeAll(async () => {
  db = await createTestDatabase();
  admin = await buildUser(db, { role: 'ADMIN' });
  service = await db.prisma.$transaction((tx) => createServiceUser(tx, { name: 'Checkout app', role: 'TECHNICIAN', createdById: admin.id }));
  actor = { id: service.id, role: service.role, name: service.name, email: service.email };
}, 60_000);
afterAll(async () => {
  await db?.close();
});

describe('a service account', () => {
  it('is recorded as created by the admin, and never signs in, whatever password is tried', async () => {
    const created = await db.prisma.userHistory.findFirstOrThrow({ where: { userId: service.id } });
    expect(created).toMatchObject({ action: 'CREATED', actorId: admin.id });
    for (const password of ['', '!service-account', service.passwordHash]) {
      expect(await authenticate(db.prisma, service.email, password)).toBeNull();
    }
  });

  it('acts through the same services as a person, and history names it', async () => {
    const ticket = await buildTicket(db, admin, { title: 'Checkout fails' });
    await addWorkLog(as(db, actor), ticket.reference, { kind: 'NOTE', body: 'Seen 3 times.' });
    const entry = await db.prisma.workLogEntry.findFirstOrThrow({ where: { ticketId: ticket.id }, orderBy: { id: 'desc' }, include: { author: true } });
    expect(entry.author?.name).toBe('Checkout app');
  });

  it('is nobody a ticket can be given to, nobody a team can take in, nobody’s @mention', async () => {
    invalidateStaffCache();
    expect((await listAssignableUsers(as(db, admin))).map((u) => u.id)).not.toContain(service.id);
    const team = await db.prisma.team.findFirstOrThrow({ where: { isDefault: true } });
    expect((await listNonMembers(as(db, admin), team.id)).map((u) => u.id)).not.toContain(service.id);
    const before = await countRows(db);
    await expect(addTeamMember(as(db, admin), team.id, service.id)).rejects.toThrow(ValidationError);
    expect(await countRows(db)).toEqual(before);
    const handle = service.email.split('@')[0]!;
    expect(await db.prisma.$transaction((tx) => resolveMentions(tx, `@${handle} @CheckoutApp please look`))).toEqual([]);
  });

  it('has no password to reset: refused, nothing written', async () => {
    const before = await countRows(db);
    await expect(resetPassword(as(db, admin), service.id, service.version, 'a long enough new password')).rejects.toThrow(/service account/);
    expect(await countRows(db)).toEqual(before);
  });
});
