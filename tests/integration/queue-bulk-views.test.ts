// Bulk actions from the queue (each ticket through its single change's service, its own history
// rows and version check; mixed results; bad input changes nothing) and saved views (private,
// shared, bounded counts kept in PostgreSQL, stored filters that no longer read).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import { countRows, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { as, buildTicket, buildUser } from '../helpers/factories.js';
import { csrfOf, signIn, testApp } from '../helpers/http.js';
import type { Actor } from '../../src/services/context.js';
import { ValidationError } from '../../src/services/errors.js';
import { bulkChange, BULK_LIMIT } from '../../src/services/tickets/bulk.js';
import { changeUrgency } from '../../src/services/tickets/change-urgency.js';
import { assignTicket } from '../../src/services/tickets/assign-ticket.js';
import { getTicketView } from '../../src/services/tickets/ticket-view.js';
import { listQueue } from '../../src/services/tickets/queue.js';
import { ACTIVE_STATUSES } from '../../src/domain/status.js';
import { deleteView, invalidateSavedViews, listSavedViews as listKept, saveView, VIEW_COUNT_LIMIT } from '../../src/services/tickets/saved-views.js';
import type { ServiceContext } from '../../src/services/context.js';
import { addTeamMember, createTeam } from '../../src/services/teams/manage-teams.js';
import { createTicket } from '../../src/services/tickets/create-ticket.js';

/** The views as read now (pages keep a user's list for a few seconds: see saved-views.ts). */
function listSavedViews(ctx: ServiceContext) {
  invalidateSavedViews(ctx);
  return listKept(ctx);
}

let db: TestDatabase;
let app: Express;
let tech: Actor;
let colleague: Actor;

beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db);
  tech = await buildUser(db, { name: 'Bulk Tech' });
  colleague = await buildUser(db, { name: 'Casey Colleague' });
});
afterAll(() => db?.close());

const historyOf = (ticketId: number) =>
  db.prisma.ticketHistory.findMany({ where: { ticketId, action: 'CHANGED' }, orderBy: { id: 'asc' } });

describe('bulk actions', () => {
  it('changes each ticket through its own service: its own history rows and version; a ticket changed meanwhile is skipped, with who', async () => {
    const [a, b, c] = [await buildTicket(db, tech), await buildTicket(db, tech), await buildTicket(db, tech)];
    // A colleague changes c's urgency after the queue showed it; b's owner (another field).
    await changeUrgency(as(db, colleague), { reference: c.reference, version: c.version }, 'LOW');
    await assignTicket(as(db, colleague), { reference: b.reference, version: b.version }, colleague.id);
    const result = await bulkChange(as(db, tech), [a, b, c].map((t) => ({ reference: t.reference, version: t.version })), {
      kind: 'urgency',
      urgency: 'CRITICAL',
    });
    // b went through (the form's field was not changed meanwhile: stale.ts), c did not.
    expect(result.changed).toEqual([a.reference, b.reference]);
    expect(result.skipped).toEqual([{ reference: c.reference, reason: 'changed meanwhile by Casey Colleague' }]);
    for (const t of [a, b]) {
      const rows = (await historyOf(t.id)).filter((h) => h.field === 'urgency');
      expect(rows.map((h) => [h.oldValue, h.newValue, h.actorId])).toEqual([['NORMAL', 'CRITICAL', tech.id]]);
    }
    const now = await db.prisma.ticket.findUniqueOrThrow({ where: { id: c.id } });
    expect(now.urgency).toBe('LOW');
  });

  it('assigns (to me, a colleague, nobody), changes status, closes as duplicates; refused moves are skipped with the reason', async () => {
    const original = await buildTicket(db, tech, { title: 'The original' });
    const ts = [await buildTicket(db, tech), await buildTicket(db, tech), await buildTicket(db, tech)];
    const items = () => Promise.all(ts.map(async (t) => {
      const row = await db.prisma.ticket.findUniqueOrThrow({ where: { id: t.id } });
      return { reference: row.reference, version: row.version };
    }));
    let r = await bulkChange(as(db, tech), await items(), { kind: 'assign', assignee: 'me' });
    expect(r.changed).toHaveLength(3);
    // A NEW ticket given to someone becomes OPEN: the single change's rule, its own history row.
    expect((await db.prisma.ticket.findMany({ where: { id: { in: ts.map((t) => t.id) } } })).every((t) => t.status === 'OPEN' && t.assigneeId === tech.id)).toBe(true);
    r = await bulkChange(as(db, tech), await items(), { kind: 'assign', assignee: 'me' });
    expect(r.unchanged).toHaveLength(3);
    // WAITING_ON_CUSTOMER from OPEN is not a move the status rules allow: skipped, with why.
    r = await bulkChange(as(db, tech), await items(), { kind: 'status', status: 'WAITING_ON_CUSTOMER' });
    expect(r.changed).toEqual([]);
    expect(r.skipped.map((s) => s.reason)).toEqual(Array(3).fill('not allowed: A ticket cannot go from Open to Waiting on customer. From Open it can go to: In progress, Resolved.'));
    r = await bulkChange(as(db, tech), await items(), { kind: 'duplicate', original: original.reference.toLowerCase() });
    expect(r.changed).toHaveLength(3);
    const dups = await db.prisma.ticket.findMany({ where: { id: { in: ts.map((t) => t.id) } } });
    expect(dups.every((t) => t.status === 'RESOLVED' && t.resolutionCode === 'DUPLICATE' && t.duplicateOfId === original.id)).toBe(true);
    expect(dups[0]!.resolutionNote).toBe(`Duplicate of ${original.reference}.`);
    // Each resolved one mailed its customer, as a single resolution does.
    expect(await db.prisma.outboundMail.count({ where: { ticketId: { in: ts.map((t) => t.id) }, kind: 'RESOLVED' } })).toBe(3);
    r = await bulkChange(as(db, tech), await items(), { kind: 'assign', assignee: 'nobody' });
    expect(r.changed).toHaveLength(3);
  });

  it('refuses input wrong for all of them, writing nothing: too many, an unknown original, a deactivated owner, resolving without a reason', async () => {
    const t = await buildTicket(db, tech);
    const gone = await buildUser(db, { name: 'Gone Tech', active: false });
    const many = Array.from({ length: BULK_LIMIT + 1 }, (_, i) => ({ reference: `CB-${String(i).padStart(7, '0')}`, version: 1 }));
    const cases: [Parameters<typeof bulkChange>[1], Parameters<typeof bulkChange>[2], string][] = [
      [many, { kind: 'urgency', urgency: 'HIGH' }, `Select at most ${BULK_LIMIT} tickets at a time.`],
      [[t], { kind: 'duplicate', original: 'CB-ZZZZZZZ' }, 'No ticket has the reference CB-ZZZZZZZ.'],
      [[t], { kind: 'assign', assignee: gone.id }, 'Gone Tech is deactivated and cannot be given tickets.'],
      [[t], { kind: 'status', status: 'RESOLVED' }, 'Resolving needs a reason'],
      [[], { kind: 'urgency', urgency: 'HIGH' }, 'Select at least one ticket.'],
    ];
    for (const [items, action, message] of cases) {
      const before = await countRows(db);
      const err = await bulkChange(as(db, tech), items.map((i) => ({ reference: i.reference, version: i.version })), action).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toContain(message);
      expect(await countRows(db)).toEqual(before);
    }
  });

  it('over HTTP: the result page says how many changed and which were skipped; 101 tickets or no action is a 422 that changes nothing', async () => {
    const { agent } = await signIn(app, tech.email);
    const ts = [await buildTicket(db, tech), await buildTicket(db, tech)];
    await changeUrgency(as(db, colleague), { reference: ts[1]!.reference, version: ts[1]!.version }, 'HIGH');
    const page = await agent.get('/tickets').expect(200);
    const csrf = csrfOf(page.text);
    const res = await agent
      .post('/tickets/bulk')
      .type('form')
      .send(`_csrf=${csrf}&action=urgency&urgency=LOW&back=sort%3Dage&${ts.map((t) => `t=${t.reference}%3A${t.version}`).join('&')}`)
      .expect(200);
    expect(res.text).toContain('<strong>1 changed</strong>; 1 skipped.');
    expect(res.text).toContain(`${ts[1]!.reference}</a> &mdash; changed meanwhile by Casey Colleague`);
    expect(res.text).toContain('href="/tickets?sort=age"');

    const tooMany = Array.from({ length: BULK_LIMIT + 1 }, (_, i) => `t=CB-${String(i).padStart(7, '0')}%3A1`).join('&');
    for (const body of [`_csrf=${csrf}&action=urgency&urgency=LOW&${tooMany}`, `_csrf=${csrf}&action=urgency&t=${ts[0]!.reference}%3A1`, `_csrf=${csrf}&action=assign&assignee=&t=${ts[0]!.reference}%3A1`, `_csrf=${csrf}&action=explode&t=x`]) {
      const before = await countRows(db);
      const refused = await agent.post('/tickets/bulk').type('form').send(body);
      expect(refused.status, body.slice(0, 80)).toBe(422);
      expect(refused.text).toContain('Nothing was changed.');
      expect(await countRows(db)).toEqual(before);
    }
  });

  it('moves tickets to another team, each through moveTicketToTeam (an owner outside it gives the ticket up); owners outside a team are skipped', async () => {
    const admin = await buildUser(db, { role: 'ADMIN' });
    const team = await createTeam(as(db, admin), { name: `Bulk team ${Date.now()}`, autoAssign: 'OFF', maxOpenPerPerson: null });
    const member = await buildUser(db, { name: 'Bulk Member' });
    await addTeamMember(as(db, admin), team.id, member.id);
    const owned = await buildTicket(db, tech, { assignToMe: true });
    const free = await buildTicket(db, tech);
    const moved = await bulkChange(as(db, tech), [owned, free].map((t) => ({ reference: t.reference, version: t.version })), { kind: 'team', teamId: team.id });
    expect(moved.changed.sort()).toEqual([owned.reference, free.reference].sort());
    const after = await db.prisma.ticket.findUniqueOrThrow({ where: { id: owned.id } });
    expect([after.teamId, after.assigneeId]).toEqual([team.id, null]);
    expect((await historyOf(owned.id)).slice(-2).map((h) => h.field).sort()).toEqual(['assigneeId', 'teamId']);
    // Giving them to someone outside their team now: skipped, each with the reason.
    const given = await bulkChange(as(db, tech), [{ reference: free.reference, version: (await db.prisma.ticket.findUniqueOrThrow({ where: { id: free.id } })).version }], { kind: 'assign', assignee: colleague.id });
    expect(given.changed).toEqual([]);
    expect(given.skipped[0]!.reason).toMatch(/Casey Colleague is not in the team/);
    await expect(bulkChange(as(db, tech), [{ reference: free.reference, version: 1 }], { kind: 'team', teamId: 999999 })).rejects.toBeInstanceOf(ValidationError);
  });

  it('one\'s own bulk change does not mark the ticket "updated" for oneself; a colleague\'s does', async () => {
    const t = await buildTicket(db, colleague);
    await getTicketView(as(db, tech), t.reference);
    await getTicketView(as(db, colleague), t.reference);
    await bulkChange(as(db, tech), [{ reference: t.reference, version: t.version }], { kind: 'urgency', urgency: 'HIGH' });
    const unseen = async (who: Actor) =>
      (await listQueue(as(db, who), { statuses: ACTIVE_STATUSES, assignee: 'anyone', text: t.reference })).rows[0]!.unseen;
    expect(await unseen(tech)).toBe(false);
    expect(await unseen(colleague)).toBe(true);
  });

  it('"Select all on this page" without JavaScript takes the page\'s rows', async () => {
    const { agent } = await signIn(app, tech.email);
    const t = await buildTicket(db, tech, { title: 'Selected by all' });
    const page = await agent.get('/tickets').query({ q: t.reference }).expect(200);
    const rows = /name="page" value="([^"]*)"/.exec(page.text)![1]!;
    expect(rows).toBe(`${t.reference}:${t.version}`);
    const res = await agent
      .post('/tickets/bulk')
      .type('form')
      .send({ _csrf: csrfOf(page.text), all: '1', action: 'urgency', urgency: 'NONE', page: rows })
      .expect(200);
    expect(res.text).toContain('<strong>1 changed</strong>');
    expect((await db.prisma.ticket.findUniqueOrThrow({ where: { id: t.id } })).urgency).toBe('NONE');
  });
});

describe('saved views', () => {
  it('private views are their owner\'s; shared ones every member of staff sees; names are unique per owner', async () => {
    const owner = await buildUser(db, { name: 'View Owner' });
    const other = await buildUser(db, { name: 'View Other' });
    await saveView(as(db, owner), { name: 'Mine only', query: { assignee: 'me' }, sort: 'waiting', shared: false });
    await saveView(as(db, owner), { name: 'Critical for all', query: { urgency: 'CRITICAL' }, sort: 'urgency', shared: true });
    const dup = await saveView(as(db, owner), { name: 'Mine only', query: {}, sort: 'age', shared: false }).catch((e: unknown) => e);
    expect((dup as Error).message).toBe('You already have a view named "Mine only".');
    const bad = await saveView(as(db, owner), { name: 'Bad', query: { status: 'SIDEWAYS' }, sort: 'age', shared: false }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ValidationError);

    const mine = (await listSavedViews(as(db, owner))).views;
    expect(mine.map((v) => [v.name, v.query, v.mine])).toEqual([
      ['Critical for all', 'urgency=CRITICAL', true],
      ['Mine only', 'assignee=me&sort=waiting', true],
    ]);
    const theirs = (await listSavedViews(as(db, other))).views;
    expect(theirs.map((v) => [v.name, v.mine, v.ownerName])).toEqual([['Critical for all', false, 'View Owner']]);
    // Only the owner deletes a view.
    const shared = mine[0]!;
    await expect(deleteView(as(db, other), shared.id)).rejects.toThrow('You have no such view.');
    // Over HTTP: listed beside the queue, with its link; another user's page has no private one.
    const { agent } = await signIn(app, other.email);
    const html = (await agent.get('/tickets').expect(200)).text;
    expect(html).toContain('<a href="/tickets?urgency=CRITICAL">Critical for all</a>');
    expect(html).not.toContain('Mine only');
  });

  it('a view shared with a team is seen by its members only, and counts the team filter ("my teams" per viewer)', async () => {
    const a = await buildUser(db, { name: 'Team View A' });
    const b = await buildUser(db, { name: 'Team View B' });
    const outsider = await buildUser(db, { name: 'Team View Outsider' });
    const admin = await buildUser(db, { role: 'ADMIN' });
    const team = await createTeam(as(db, admin), { name: `Views team ${Date.now()}`, autoAssign: 'OFF', maxOpenPerPerson: null });
    await addTeamMember(as(db, admin), team.id, a.id);
    await addTeamMember(as(db, admin), team.id, b.id);
    await createTicket(as(db, a), { title: 'Team view ticket', description: 'x', channel: 'PHONE', urgency: 'NORMAL', teamId: team.id, customer: { name: 'C', email: `c-${Date.now()}@customer.test` } });
    // Only a member shares with the team.
    await expect(saveView(as(db, outsider), { name: 'Not mine', query: {}, sort: 'urgency', shared: false, teamId: team.id })).rejects.toThrow(
      'You can share a view only with a team you are in.',
    );
    await saveView(as(db, a), { name: 'Our team', query: { team: String(team.id) }, sort: 'urgency', shared: false, teamId: team.id });
    const listed = await listSavedViews(as(db, b));
    await listed.recounting;
    const seenByB = listed.views.find((v) => v.name === 'Our team');
    expect(seenByB && [seenByB.teamName, seenByB.mine, seenByB.query]).toEqual([team.name, false, `team=${team.id}`]);
    expect((await listSavedViews(as(db, outsider))).views.some((v) => v.name === 'Our team')).toBe(false);
    expect((await listSavedViews(as(db, b))).views.find((v) => v.name === 'Our team')!.count).toBe(1);
  });

  it('counts are bounded and kept in PostgreSQL (one count a minute, whoever asks); per viewer for "me"', async () => {
    const owner = await buildUser(db, { name: 'Counting Owner' });
    for (let i = 0; i < 3; i++) {
      const t = await buildTicket(db, owner);
      await assignTicket(as(db, owner), { reference: t.reference, version: t.version }, owner.id);
    }
    await saveView(as(db, owner), { name: 'My queue', query: { assignee: 'me' }, sort: 'urgency', shared: true });
    const first = await listSavedViews(as(db, owner));
    expect(first.views[0]!.count).toBeNull(); // not counted yet: the page never waits
    await first.recounting;
    const second = await listSavedViews(as(db, owner));
    expect(second.views[0]!.count).toBe(3);
    await second.recounting;
    // Another viewer's "me" is themselves: their own count.
    const viewer = await buildUser(db, { name: 'Counting Viewer' });
    await (await listSavedViews(as(db, viewer))).recounting;
    expect((await listSavedViews(as(db, viewer))).views.find((v) => v.name === 'My queue')!.count).toBe(0);
    expect(await db.prisma.savedViewCount.count({ where: { view: { name: 'My queue' } } })).toBe(2);
    // Kept: a new ticket does not show until the count is a minute old.
    const t = await buildTicket(db, owner);
    await assignTicket(as(db, owner), { reference: t.reference, version: t.version }, owner.id);
    expect((await listSavedViews(as(db, owner))).views[0]!.count).toBe(3);
    await db.prisma.savedViewCount.updateMany({ data: { countedAt: new Date(Date.now() - 61_000) } });
    await (await listSavedViews(as(db, owner))).recounting;
    expect((await listSavedViews(as(db, owner))).views[0]!.count).toBe(4);
    // Bounded: counted up to VIEW_COUNT_LIMIT + 1, shown as "1,000+".
    const row = await db.prisma.savedView.findFirstOrThrow({ where: { name: 'My queue' } });
    await db.prisma.savedViewCount.updateMany({ where: { viewId: row.id }, data: { n: VIEW_COUNT_LIMIT + 1, countedAt: new Date() } });
    invalidateSavedViews(as(db, owner));
    const { agent } = await signIn(app, owner.email);
    const html = (await agent.get('/tickets').expect(200)).text;
    expect(html).toMatch(/My queue<\/a> <span class="view-count">1,000\+/);
  });

  it('a stored view whose filters no longer read is listed without a link, never breaks the page, and can be deleted', async () => {
    const owner = await buildUser(db, { name: 'Old Views' });
    const broken = [
      { filters: { status: 'ESCALATED' }, sort: 'urgency' },
      { filters: ['not', 'an', 'object'], sort: 'urgency' },
      { filters: { status: 'active' }, sort: 'by-mood' },
      { filters: { q: 'x'.repeat(5000) }, sort: 'age' },
      { filters: { assignee: { __proto__: 1 } }, sort: 'urgency' },
    ];
    for (const [i, v] of broken.entries()) {
      await db.prisma.savedView.create({ data: { ownerId: owner.id, name: `Old ${i}`, filters: v.filters as never, sort: v.sort } });
    }
    const listed = await listSavedViews(as(db, owner));
    await listed.recounting;
    const views = listed.views.filter((v) => v.mine);
    expect(views.map((v) => [v.name, v.query, v.count])).toEqual(broken.map((_, i) => [`Old ${i}`, null, null]));
    const { agent } = await signIn(app, owner.email);
    const page = await agent.get('/tickets').expect(200);
    expect(page.text).toContain('Old 0</span> <small>(its filters no longer apply)</small>');
    const res = await agent.post(`/tickets/views/${views[0]!.id}/delete`).type('form').send({ _csrf: csrfOf(page.text) }).expect(303);
    expect(res.headers.location).toBe('/tickets?done=view-deleted');
    expect(await db.prisma.savedView.count({ where: { ownerId: owner.id } })).toBe(4);
  });

  it('over HTTP: saves the current filters and sort, and refuses a missing name with 422, nothing written', async () => {
    const owner = await buildUser(db, { name: 'Form Owner' });
    const { agent } = await signIn(app, owner.email);
    const page = await agent.get('/tickets').query({ sort: 'waiting', assignee: 'unassigned' }).expect(200);
    const csrf = csrfOf(page.text);
    const saved = await agent.post('/tickets/views').type('form')
      .send({ _csrf: csrf, name: 'Unassigned, longest waiting', status: 'active', urgency: '', assignee: 'unassigned', q: '', sort: 'waiting' })
      .expect(303);
    expect(saved.headers.location).toBe('/tickets?status=active&assignee=unassigned&sort=waiting&done=view-saved');
    const view = await db.prisma.savedView.findFirstOrThrow({ where: { ownerId: owner.id } });
    expect([view.filters, view.sort, view.shared]).toEqual([{ status: 'active', assignee: 'unassigned' }, 'waiting', false]);
    const shown = await agent.get(saved.headers.location as string).expect(200);
    expect(shown.text).toContain('<p class="notice done" role="status">View saved.</p>');
    expect(shown.text).toContain('aria-current=page>Unassigned, longest waiting</a>');
    for (const body of [{ name: '' }, { name: 'x', status: 'SIDEWAYS' }, { name: 'Unassigned, longest waiting', status: 'active', assignee: 'unassigned', sort: 'waiting' }]) {
      const before = await countRows(db);
      const res = await agent.post('/tickets/views').type('form').send({ _csrf: csrf, ...body });
      expect(res.status).toBe(422);
      expect(await countRows(db)).toEqual(before);
    }
  });
});
