// Admins manage users; every change is recorded, and the rules keep the desk usable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import type TestAgent from 'supertest/lib/agent.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { as, buildTicket, buildUser } from '../helpers/factories.js';
import { expectRefused, signIn, testApp } from '../helpers/http.js';
import type { Actor } from '../../src/services/context.js';
import { assignTicket } from '../../src/services/tickets/assign-ticket.js';
import { ValidationError } from '../../src/services/errors.js';
import { bootstrapAdmin } from '../../src/services/users/bootstrap-admin.js';

let db: TestDatabase;
let app: Express;
let admin: Actor;
let agent: TestAgent;
let csrf: string;

beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db);
  admin = await buildUser(db, { role: 'ADMIN', name: 'Ada Admin' });
  ({ agent, csrf } = await signIn(app, admin.email));
});
afterAll(() => db?.close());

const userByEmail = (email: string) => db.prisma.user.findUniqueOrThrow({ where: { email } });
const historyOf = (userId: number) => db.prisma.userHistory.findMany({ where: { userId }, orderBy: { id: 'asc' } });

const refused = (send: () => PromiseLike<{ status: number; text: string }>, status: number, ...texts: string[]) =>
  expectRefused(db, send, status, ...texts);

describe('user management', () => {
  it('creates, edits, deactivates, reactivates and resets, recording each change', async () => {
    await agent
      .post('/admin/users')
      .type('form')
      .send({ _csrf: csrf, email: 'New.Tech@Example.com', name: 'Nina New', role: 'TECHNICIAN', password: 'a-long-enough-password' })
      .expect(303);
    let u = await userByEmail('new.tech@example.com');
    expect(u).toMatchObject({ name: 'Nina New', role: 'TECHNICIAN', active: true });
    expect(u.passwordHash).toMatch(/^scrypt\$/);

    await agent.post(`/admin/users/${u.id}`).type('form').send({ _csrf: csrf, version: u.version, email: u.email, name: 'Nina Senior', role: 'ADMIN' }).expect(303);
    u = await userByEmail(u.email);
    await agent.post(`/admin/users/${u.id}/active`).type('form').send({ _csrf: csrf, version: u.version, active: 'false' }).expect(303);
    u = await userByEmail(u.email);
    expect(u.active).toBe(false);
    await agent.post(`/admin/users/${u.id}/active`).type('form').send({ _csrf: csrf, version: u.version, active: 'true' }).expect(303);
    u = await userByEmail(u.email);
    const oldHash = u.passwordHash;
    await agent.post(`/admin/users/${u.id}/password`).type('form').send({ _csrf: csrf, version: u.version, password: 'another-long-password' }).expect(303);
    u = await userByEmail(u.email);
    expect(u.passwordHash).not.toBe(oldHash);

    const rows = await historyOf(u.id);
    expect(rows.map((h) => [h.action, h.field, h.oldValue, h.newValue, h.actorId])).toEqual([
      ['CREATED', null, null, expect.stringContaining('new.tech@example.com'), admin.id],
      ['CHANGED', 'name', 'Nina New', 'Nina Senior', admin.id],
      ['CHANGED', 'role', 'TECHNICIAN', 'ADMIN', admin.id],
      ['CHANGED', 'active', 'true', 'false', admin.id],
      ['CHANGED', 'active', 'false', 'true', admin.id],
      ['CHANGED', 'password', null, 'reset', admin.id],
    ]);
    expect(rows.some((h) => h.newValue?.includes('scrypt$'))).toBe(false); // no hash in the history
    const page = await agent.get(`/admin/users/${u.id}`).expect(200);
    expect(page.text).toContain('reset the password');
    expect(page.text).toContain('changed the role from Technician to Admin');
    expect(page.text).toContain('deactivated the user');
  });

  it('refuses bad input with the reason, writing nothing', async () => {
    const existing = await buildUser(db, { email: 'taken@example.com' });
    const post = (body: Record<string, string>) => agent.post('/admin/users').type('form').send({ _csrf: csrf, ...body });
    const ok = { email: 'fresh@example.com', name: 'Fresh', role: 'TECHNICIAN', password: 'a-long-enough-password' };
    await refused(() => post({ ...ok, email: 'TAKEN@example.com' }), 422, 'This email is taken.');
    await refused(() => post({ ...ok, password: 'short' }), 422, 'at least 12 characters');
    await refused(() => post({ ...ok, role: 'ROOT' }), 422, 'Choose a valid role.');
    await refused(() => post({ ...ok, name: '' }), 422, 'A name is required.');
    await refused(() => post({ ...ok, name: 'n'.repeat(121) }), 422, 'at most 120 characters');
    await refused(() => agent.get('/admin/users/999999'), 404);
    await refused(() => agent.get('/admin/users/abc'), 404);
    const row = await db.prisma.user.findUniqueOrThrow({ where: { id: existing.id } });
    // A refused password reset leaves the details form showing the stored record.
    await refused(
      () => agent.post(`/admin/users/${existing.id}/password`).type('form').send({ _csrf: csrf, version: row.version, password: 'short' }),
      422,
      'at least 12 characters',
      `value="${row.name}"`,
      `value="${row.email}"`,
    );
    await refused(
      () => agent.post(`/admin/users/${existing.id}`).type('form').send({ _csrf: csrf, version: row.version + 5, email: row.email, name: 'X', role: 'TECHNICIAN' }),
      409,
      'changed by someone else',
    );
  });

  it('keeps at least one active admin, and admins cannot deactivate themselves', async () => {
    const solo = await createSoloAdminDb();
    try {
      const me = await solo.prisma.user.findFirstOrThrow({ where: { role: 'ADMIN' } });
      const { setUserActive, updateUser } = await import('../../src/services/users/manage-users.js');
      const ctx = { db: solo.prisma, actor: { id: me.id, role: me.role, name: me.name, email: me.email } };
      await expect(updateUser(ctx, me.id, me.version, { email: me.email, name: me.name, role: 'TECHNICIAN' })).rejects.toThrow(/last active admin/);
      await expect(setUserActive(ctx, me.id, me.version, false)).rejects.toThrow(ValidationError);
      expect(await solo.prisma.userHistory.count({ where: { action: 'CHANGED' } })).toBe(0);
    } finally {
      await solo.close();
    }
  });

  it('a deactivated user cannot be given tickets; their tickets stay', async () => {
    const tech = await buildUser(db);
    const t = await buildTicket(db, tech, { assignToMe: true });
    const row = await db.prisma.user.findUniqueOrThrow({ where: { id: tech.id } });
    await agent.post(`/admin/users/${tech.id}/active`).type('form').send({ _csrf: csrf, version: row.version, active: 'false' }).expect(303);
    expect((await db.prisma.ticket.findUniqueOrThrow({ where: { id: t.id } })).assigneeId).toBe(tech.id);
    const other = await buildTicket(db, admin);
    await expect(assignTicket(as(db, admin), { reference: other.reference, version: 1 }, tech.id)).rejects.toThrow(/deactivated/);
  });
});

/** A database whose only user is the admin that first start creates. */
async function createSoloAdminDb() {
  const solo = await createTestDatabase();
  const made = await bootstrapAdmin(solo.prisma, { name: 'First Admin' });
  expect(made?.generatedPassword).toMatch(/^[\w-]{20}$/);
  expect(await bootstrapAdmin(solo.prisma, { name: 'Again' })).toBeNull(); // only on first start
  return solo;
}
