// Teams: every ticket is in one, its owner is a member of it, moving it is a tracked change, and
// automatic assignment (round robin or least loaded, a cap, availability) holds when tickets
// arrive at once through several app instances on one database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import type TestAgent from 'supertest/lib/agent.js';
import { connectDatabase, type Database } from '../../src/db/client.js';
import { createTestDatabase, countRows, type TestDatabase } from '../helpers/db.js';
import { as, buildTicket, buildUser } from '../helpers/factories.js';
import { csrfOf, expectRefused, signIn, testApp } from '../helpers/http.js';
import type { Actor } from '../../src/services/context.js';
import { addTeamMember, createTeam, removeTeamMember, setAvailability, updateTeam } from '../../src/services/teams/manage-teams.js';
import { assignTicket, takeTicket } from '../../src/services/tickets/assign-ticket.js';
import { moveTicketToTeam } from '../../src/services/tickets/move-team.js';
import { createTicket } from '../../src/services/tickets/create-ticket.js';
import { submitWebRequest } from '../../src/services/public/web-request.js';
import { changeStatus } from '../../src/services/tickets/change-status.js';
import { pickAssignee } from '../../src/services/tickets/auto-assign.js';
import { invalidateTeamsCache } from '../../src/services/teams/teams.js';
import { ForbiddenError, ValidationError } from '../../src/services/errors.js';
import { sendRaw, startTestInbound } from '../helpers/inbound.js';

let db: TestDatabase;
let app: Express;
let admin: Actor;
let tech: Actor;
let agent: TestAgent;
let csrf: string;

beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db);
  admin = await buildUser(db, { role: 'ADMIN', name: 'Ada Admin' });
  tech = await buildUser(db, { name: 'Tom Tech' });
  ({ agent, csrf } = await signIn(app, admin.email));
});
afterAll(() => db?.close());

let n = 0;
const teamInput = (over: Partial<Parameters<typeof createTeam>[1]> = {}) => ({
  name: `Team ${Date.now()} ${n++}`,
  autoAssign: 'OFF' as const,
  maxOpenPerPerson: null,
  ...over,
});

async function teamWith(members: Actor[], over: Partial<Parameters<typeof createTeam>[1]> = {}) {
  const team = await createTeam(as(db, admin), teamInput(over));
  for (const m of members) await addTeamMember(as(db, admin), team.id, m.id);
  return team;
}

const fresh = (id: number) => db.prisma.ticket.findUniqueOrThrow({ where: { id } });

describe('teams and owners', () => {
  it('a new user and a new ticket land in the default team', async () => {
    const t = await buildTicket(db, tech);
    const def = await db.prisma.team.findFirstOrThrow({ where: { isDefault: true } });
    expect(t.teamId).toBe(def.id);
    expect(await db.prisma.teamMember.count({ where: { teamId: def.id, userId: tech.id } })).toBe(1);
  });

  it('an owner must be a member of the ticket team: refused with the reason, nothing written', async () => {
    const outsider = await buildUser(db, { name: 'Otto Outsider' });
    const network = await teamWith([tech]);
    const t = await createTicket(as(db, tech), { ...base(), teamId: network.id });
    const before = await countRows(db);
    await expect(assignTicket(as(db, tech), { reference: t.reference, version: t.version }, outsider.id)).rejects.toThrow(
      /Otto Outsider is not in the team/,
    );
    await expect(takeTicket(as(db, outsider), { reference: t.reference, version: t.version })).rejects.toBeInstanceOf(ValidationError);
    await expect(changeStatus(as(db, outsider), { reference: t.reference, version: t.version }, 'IN_PROGRESS')).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(createTicket(as(db, outsider), { ...base(), teamId: network.id, assignToMe: true })).rejects.toBeInstanceOf(ValidationError);
    expect(await countRows(db)).toEqual(before);
    // A member is fine, and a NEW ticket given to someone becomes OPEN.
    const given = await assignTicket(as(db, admin), { reference: t.reference, version: t.version }, tech.id);
    expect(given.assigneeId).toBe(tech.id);
    expect(given.status).toBe('OPEN');
  });

  it('moving a ticket is recorded; an owner outside the new team gives it up in the same change', async () => {
    const billing = await teamWith([admin]);
    const t = await buildTicket(db, tech, { assignToMe: true });
    const moved = await moveTicketToTeam(as(db, tech), { reference: t.reference, version: t.version }, billing.id);
    expect(moved.teamId).toBe(billing.id);
    expect(moved.assigneeId).toBeNull();
    const rows = await db.prisma.ticketHistory.findMany({ where: { ticketId: t.id, ticketVersion: moved.version } });
    expect(rows.map((r) => [r.field, r.oldValue, r.newValue, r.actorId]).sort()).toEqual(
      [
        ['assigneeId', tech.name, null, tech.id],
        ['teamId', 'Service desk', billing.name, tech.id],
      ].sort(),
    );
    // An owner who is a member stays.
    const again = await buildTicket(db, admin, { assignToMe: true });
    const kept = await moveTicketToTeam(as(db, admin), { reference: again.reference, version: again.version }, billing.id);
    expect(kept.assigneeId).toBe(admin.id);
  });

  it('an unknown team is a clear 422 on the page, and nothing changes', async () => {
    const t = await buildTicket(db, tech);
    await expectRefused(
      db,
      () => agent.post(`/tickets/${t.reference}/team`).type('form').send({ _csrf: csrf, version: t.version, teamId: 999999 }),
      422,
      'That team does not exist.',
    );
    await expectRefused(
      db,
      () => agent.post(`/tickets/${t.reference}/team`).type('form').send({ _csrf: csrf, version: t.version, teamId: 'x' }),
      422,
    );
  });

  it('removing a member who owns open tickets of the team is refused until they are handed on', async () => {
    const m = await buildUser(db, { name: 'Mira Member' });
    const team = await teamWith([m]);
    const t = await createTicket(as(db, m), { ...base(), teamId: team.id, assignToMe: true });
    await expect(removeTeamMember(as(db, admin), team.id, m.id)).rejects.toThrow(/owns 1 open ticket/);
    await assignTicket(as(db, admin), { reference: t.reference, version: (await fresh(t.id)).version }, null);
    await removeTeamMember(as(db, admin), team.id, m.id);
    const history = await db.prisma.teamHistory.findMany({ where: { teamId: team.id }, orderBy: { id: 'asc' } });
    expect(history.map((h) => h.action)).toEqual(['CREATED', 'MEMBER_ADDED', 'MEMBER_REMOVED']);
  });

  it('only admins manage teams; anyone sets their own availability, not a colleague’s', async () => {
    await expect(createTeam(as(db, tech), teamInput())).rejects.toBeInstanceOf(ForbiddenError);
    const other = await buildUser(db);
    await expect(setAvailability(as(db, tech), other.id, false)).rejects.toBeInstanceOf(ForbiddenError);
    await setAvailability(as(db, tech), tech.id, false);
    expect((await db.prisma.user.findUniqueOrThrow({ where: { id: tech.id } })).available).toBe(false);
    await setAvailability(as(db, tech), tech.id, true);
    const techAgent = await signIn(app, tech.email);
    await techAgent.agent.post('/teams').type('form').send({ _csrf: techAgent.csrf, name: 'Nope', autoAssign: 'OFF' }).expect(403);
  });

  it('team names are unique whatever their case; bad settings are refused with nothing written', async () => {
    const t = await createTeam(as(db, admin), teamInput({ name: 'Network Ops' }));
    await expect(createTeam(as(db, admin), teamInput({ name: 'network ops' }))).rejects.toThrow(/exists already/);
    const page = await agent.get('/teams/new').expect(200);
    const token = csrfOf(page.text);
    await expectRefused(db, () => agent.post('/teams').type('form').send({ _csrf: token, name: 'NETWORK OPS', autoAssign: 'OFF' }), 422, 'exists already');
    await expectRefused(db, () => agent.post('/teams').type('form').send({ _csrf: token, name: 'Capped', autoAssign: 'OFF', maxOpenPerPerson: '0' }), 422);
    await expectRefused(db, () => agent.post('/teams').type('form').send({ _csrf: token, name: 'Odd', autoAssign: 'SOMETIMES' }), 422);
    await expectRefused(
      db,
      () => agent.post(`/teams/${t.id}`).type('form').send({ _csrf: token, version: t.version + 5, name: 'Renamed', autoAssign: 'OFF' }),
      409,
    );
  });

  it('the queue filters by team and by "my teams"', async () => {
    const mine = await teamWith([tech]);
    const notMine = await teamWith([admin]);
    const a = await createTicket(as(db, tech), { ...base(), title: 'In my team', teamId: mine.id });
    const b = await createTicket(as(db, admin), { ...base(), title: 'In another team', teamId: notMine.id });
    invalidateTeamsCache();
    const techAgent = await signIn(app, tech.email);
    const page = await techAgent.agent.get(`/tickets?team=mine`).expect(200);
    expect(page.text).toContain(a.reference);
    expect(page.text).not.toContain(b.reference);
    const one = await techAgent.agent.get(`/tickets?team=${notMine.id}`).expect(200);
    expect(one.text).toContain(b.reference);
    expect(one.text).not.toContain(a.reference);
    await techAgent.agent.get(`/tickets?team=abc`).expect(400);
  });
});

const base = () => ({
  title: 'VPN drops every hour',
  description: 'Since the update.',
  channel: 'PHONE' as const,
  urgency: 'NORMAL' as const,
  customer: { name: 'Cara Customer', email: `cara-${Date.now()}-${n++}@customer.test` },
});

describe('automatic assignment', () => {
  it('picks in turn, or the least loaded, skipping members at the cap', () => {
    const c = [
      { id: 1, open: 3 },
      { id: 2, open: 0 },
      { id: 3, open: 1 },
    ];
    expect(pickAssignee('ROUND_ROBIN', c, null, null)).toBe(1);
    expect(pickAssignee('ROUND_ROBIN', c, 1, null)).toBe(2);
    expect(pickAssignee('ROUND_ROBIN', c, 3, null)).toBe(1);
    expect(pickAssignee('ROUND_ROBIN', c, 1, 1)).toBe(2);
    expect(pickAssignee('ROUND_ROBIN', c, 2, 1)).toBe(2);
    expect(pickAssignee('LEAST_LOADED', c, null, null)).toBe(2);
    expect(pickAssignee('LEAST_LOADED', c, 2, 1)).toBe(2);
    expect(pickAssignee('LEAST_LOADED', c, 1, 0)).toBeNull();
    expect(pickAssignee('ROUND_ROBIN', [], null, null)).toBeNull();
  });

  it('gives a new ticket to an available member, recorded as done by the rule, NEW becoming OPEN', async () => {
    const away = await buildUser(db, { name: 'Andy Away' });
    const here = await buildUser(db, { name: 'Hana Here' });
    const team = await teamWith([away, here], { autoAssign: 'ROUND_ROBIN' });
    await setAvailability(as(db, away), away.id, false);
    const t = await createTicket(as(db, admin), { ...base(), teamId: team.id });
    expect(t.assigneeId).toBe(here.id);
    expect(t.status).toBe('OPEN');
    const rows = await db.prisma.ticketHistory.findMany({ where: { ticketId: t.id, action: 'CHANGED' } });
    expect(rows.map((r) => [r.field, r.actorId, r.actorCustomerId, r.actorSystem]).sort()).toEqual([
      ['assigneeId', null, null, 'auto-assignment'],
      ['status', null, null, 'auto-assignment'],
    ]);
    const page = await agent.get(`/tickets/${t.reference}`).expect(200);
    expect(page.text).toContain('Automatic assignment (rule)');
    expect(page.text).toContain('handed the ticket to Hana Here');
  });

  it('a ticket moved into a team without an owner is assigned there; with nobody available it waits', async () => {
    const m = await buildUser(db, { name: 'Moe Mover' });
    const team = await teamWith([m], { autoAssign: 'LEAST_LOADED' });
    const t = await buildTicket(db, tech);
    const moved = await moveTicketToTeam(as(db, tech), { reference: t.reference, version: t.version }, team.id);
    expect(moved.assigneeId).toBe(m.id);
    await setAvailability(as(db, m), m.id, false);
    const u = await buildTicket(db, tech);
    const waits = await moveTicketToTeam(as(db, tech), { reference: u.reference, version: u.version }, team.id);
    expect(waits.assigneeId).toBeNull();
    expect(waits.status).toBe('NEW');
  });

  it('a customer’s web request to the default team is assigned when the default team assigns', async () => {
    const def = await db.prisma.team.findFirstOrThrow({ where: { isDefault: true } });
    const only = await buildUser(db, { name: 'Solo Desk' });
    // Everyone else in the default team is away for this test; then back.
    const others = await db.prisma.user.findMany({ where: { id: { not: only.id }, available: true }, select: { id: true } });
    await db.prisma.user.updateMany({ where: { id: { in: others.map((o) => o.id) } }, data: { available: false } });
    try {
      await updateTeam(as(db, admin), def.id, def.version, { name: def.name, autoAssign: 'ROUND_ROBIN', maxOpenPerPerson: null, isDefault: true });
      const t = await submitWebRequest(db.prisma, { name: 'Web Person', email: `web-${n++}@customer.test`, title: 'Site down', description: 'Down.' });
      expect(t.teamId).toBe(def.id);
      expect(t.assigneeId).toBe(only.id);
    } finally {
      const now = await db.prisma.team.findUniqueOrThrow({ where: { id: def.id } });
      await updateTeam(as(db, admin), def.id, now.version, { name: def.name, autoAssign: 'OFF', maxOpenPerPerson: null, isDefault: true });
      await db.prisma.user.updateMany({ where: { id: { in: others.map((o) => o.id) } }, data: { available: true } });
    }
  });

  it('routes mail by the address it was delivered to: the team of that address, and its automatic assignment', async () => {
    const m = await buildUser(db, { name: 'Nia Network' });
    const team = await teamWith([m], { autoAssign: 'ROUND_ROBIN', address: 'Network@Support.test' });
    expect((await db.prisma.team.findUniqueOrThrow({ where: { id: team.id } })).address).toBe('network@support.test');
    await expect(createTeam(as(db, admin), teamInput({ address: 'network@support.test' }))).rejects.toThrow(/Another team receives mail at that address/);
    const smtp = await startTestInbound(db);
    try {
      const mail = (to: string, subject: string) =>
        [`From: Vic Customer <vic-${n++}@customer.test>`, `To: ${to}`, `Subject: ${subject}`, `Message-ID: <${Date.now()}-${n++}@customer.test>`, '', 'The VPN drops.', ''].join('\r\n');
      await sendRaw(smtp, { from: 'vic@customer.test', to: ['network@support.test'] }, mail('network@support.test', 'VPN drops'));
      await sendRaw(smtp, { from: 'vic@customer.test', to: ['help@support.test'] }, mail('help@support.test', 'Printer jam'));
      const routed = await db.prisma.ticket.findFirstOrThrow({ where: { title: 'VPN drops' } });
      expect(routed.teamId).toBe(team.id);
      expect(routed.assigneeId).toBe(m.id);
      const other = await db.prisma.ticket.findFirstOrThrow({ where: { title: 'Printer jam' } });
      expect(other.teamId).toBe((await db.prisma.team.findFirstOrThrow({ where: { isDefault: true } })).id);
    } finally {
      await smtp.stop();
    }
  });

  it('is race-free across instances: tickets arriving at once keep round robin and the cap', async () => {
    const members = [await buildUser(db), await buildUser(db), await buildUser(db), await buildUser(db)];
    const team = await teamWith(members, { autoAssign: 'ROUND_ROBIN', maxOpenPerPerson: 5 });
    // Two "instances": two connection pools (and Prisma clients) on the same database.
    const second: Database = connectDatabase(db.url, 10, { namedStatements: !!process.env.DATABASE_URL });
    try {
      const instances = [db.prisma, second.prisma];
      const created = await Promise.all(
        Array.from({ length: 24 }, (_, i) => createTicket({ db: instances[i % 2]!, actor: admin }, { ...base(), teamId: team.id })),
      );
      const owners = created.map((t) => t.assigneeId);
      const per = new Map<number | null, number>();
      for (const o of owners) per.set(o, (per.get(o) ?? 0) + 1);
      // 4 members × a cap of 5: 20 assigned, 5 each (round robin under the lock), 4 left waiting.
      for (const m of members) expect(per.get(m.id)).toBe(5);
      expect(per.get(null)).toBe(4);
      const open = await db.prisma.ticket.groupBy({ by: ['assigneeId'], where: { teamId: team.id, assigneeId: { not: null } }, _count: { _all: true } });
      expect(Math.max(...open.map((o) => o._count._all))).toBe(5);
    } finally {
      await second.close();
    }
  });
});

describe('telling a team', () => {
  it('a ticket moved to a team without an owner, or opened in a team other than the default, is announced to its members', async () => {
    const a = await buildUser(db, { name: 'Ann Announce' });
    const b = await buildUser(db, { name: 'Ben Announce' });
    const team = await teamWith([a, b, tech]);
    const kinds = async (userId: number, ticketId: number) =>
      (await db.prisma.notification.findMany({ where: { userId, ticketId } })).map((x) => x.kind);
    const t = await buildTicket(db, admin);
    expect(await kinds(a.id, t.id)).toEqual([]); // the default team's new tickets are not announced
    await moveTicketToTeam(as(db, tech), { reference: t.reference, version: t.version }, team.id);
    expect(await kinds(a.id, t.id)).toEqual(['TEAM_ASSIGNED']);
    expect(await kinds(b.id, t.id)).toEqual(['TEAM_ASSIGNED']);
    expect(await kinds(tech.id, t.id)).toEqual([]); // never the actor
    const opened = await createTicket(as(db, admin), { ...base(), teamId: team.id });
    expect(await kinds(a.id, opened.id)).toEqual(['TEAM_ASSIGNED']);
    // Automatically assigned instead: the owner is told it is theirs, nobody is told of the team.
    const auto = await teamWith([a, b], { autoAssign: 'ROUND_ROBIN' });
    const given = await createTicket(as(db, admin), { ...base(), teamId: auto.id });
    const owner = given.assigneeId!;
    expect(await kinds(owner, given.id)).toEqual(['ASSIGNED']);
    expect(await kinds(owner === a.id ? b.id : a.id, given.id)).toEqual([]);
  });
});

describe('team pages', () => {
  it('lists teams; an admin creates one, adds and removes members, everything recorded', async () => {
    const list = await agent.get('/teams').expect(200);
    expect(list.text).toContain('Service desk');
    const form = await agent.get('/teams/new').expect(200);
    const created = await agent
      .post('/teams')
      .type('form')
      .send({ _csrf: csrfOf(form.text), name: 'Billing desk', autoAssign: 'LEAST_LOADED', maxOpenPerPerson: '12' })
      .expect(303);
    const id = /^\/teams\/(\d+)\?done=team-created$/.exec(created.headers.location ?? '')?.[1];
    expect(id).toBeDefined();
    await agent.post(`/teams/${id}/members`).type('form').send({ _csrf: csrf, userId: tech.id }).expect(303);
    const page = await agent.get(`/teams/${id}?done=team-member-added`).expect(200);
    expect(page.text).toContain('Member added.');
    expect(page.text).toContain('Tom Tech');
    expect(page.text).toContain('at most 12 open tickets each');
    await agent.post(`/teams/${id}/members/remove`).type('form').send({ _csrf: csrf, userId: tech.id }).expect(303);
    const rows = await db.prisma.teamHistory.findMany({ where: { teamId: Number(id) }, orderBy: { id: 'asc' } });
    expect(rows.map((r) => [r.action, r.actorId])).toEqual([
      ['CREATED', admin.id],
      ['MEMBER_ADDED', admin.id],
      ['MEMBER_REMOVED', admin.id],
    ]);
    await agent.get('/teams/999999').expect(404);
    await agent.get('/teams/abc').expect(404);
  });

  it('team history is append-only', async () => {
    await expect(db.pool.query(`UPDATE "TeamHistory" SET "newValue" = 'x'`)).rejects.toThrow(/append-only/);
    await expect(db.pool.query(`DELETE FROM "TeamHistory"`)).rejects.toThrow(/append-only/);
  });
});
