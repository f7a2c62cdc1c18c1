// SLA policies on real tickets: the due times stored in the transaction of each change equal a
// recomputation from history, waiting on the customer pauses the clock, a breach is acted on once
// (notified, escalated as a change done by "SLA"), and the settings refuse bad input whole.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Express } from 'express';
import type TestAgent from 'supertest/lib/agent.js';
import { createTestDatabase, countRows, type TestDatabase } from '../helpers/db.js';
import { as, buildTicket, buildUser } from '../helpers/factories.js';
import { csrfOf, expectRefused, signIn, testApp } from '../helpers/http.js';
import type { Actor } from '../../src/services/context.js';
import { createCalendar, createPolicy, updatePolicy, addHoliday, type PolicyInput } from '../../src/services/sla/manage.js';
import { readSla } from '../../src/services/sla/recompute.js';
import { checkSlaTicket } from '../../src/services/sla/timer.js';
import { slaBreachesTotal } from '../../src/observability/metrics.js';
import { sweepSlaBatch } from '../../src/services/sla/sweep.js';
import { invalidateSlaSettings } from '../../src/services/sla/policies.js';
import { submitWebRequest } from '../../src/services/public/web-request.js';
import { addWorkLog } from '../../src/services/tickets/add-work-log.js';
import { changeStatus } from '../../src/services/tickets/change-status.js';
import { changeUrgency } from '../../src/services/tickets/change-urgency.js';
import { resolveTicket } from '../../src/services/tickets/resolve-ticket.js';
import { reopenTicket } from '../../src/services/tickets/reopen-ticket.js';
import { takeTicket } from '../../src/services/tickets/assign-ticket.js';
import { addCustomerReply } from '../../src/services/public/customer-ticket.js';
import type { Ticket } from '../../src/generated/prisma/client.js';
import { addTeamMember, createTeam, updateTeam } from '../../src/services/teams/manage-teams.js';
import { createOrganization } from '../../src/services/organizations/manage-organizations.js';
import { createRule, setRuleActive } from '../../src/services/automation/rules.js';
import { createRunbook } from '../../src/services/runbooks/manage-runbooks.js';

let db: TestDatabase;
let app: Express;
let admin: Actor;
let tech: Actor;
let agent: TestAgent;
let csrf: string;

const MIN = 60_000;
const ALL_DAYS = { 1: [], 2: [], 3: [], 4: [], 5: [], 6: [], 7: [] };

const policy = (over: Partial<PolicyInput> = {}): PolicyInput => ({
  name: `Policy ${Math.random().toString(36).slice(2, 8)}`,
  position: 0,
  isDefault: true,
  active: true,
  calendarId: null,
  matchUrgencies: [],
  matchChannels: [],
  matchTeamId: null,
  matchOrganizationId: null,
  warnPercent: 75,
  escalateUrgency: true,
  escalateToLead: false,
  targets: {
    CRITICAL: { firstResponseMinutes: 30, nextResponseMinutes: 60, resolutionMinutes: 240 },
    NORMAL: { firstResponseMinutes: 120, nextResponseMinutes: 240, resolutionMinutes: 2400 },
  },
  ...over,
});

beforeAll(async () => {
  db = await createTestDatabase();
  app = testApp(db);
  admin = await buildUser(db, { role: 'ADMIN', name: 'Ada Admin' });
  tech = await buildUser(db, { name: 'Tom Tech' });
  ({ agent, csrf } = await signIn(app, admin.email));
  await createPolicy(as(db, admin), policy({ name: 'Around the clock' }));
});
afterAll(() => db?.close());
beforeEach(() => invalidateSlaSettings());

const fromWeb = (title = 'The VPN drops every hour') =>
  submitWebRequest(db.prisma, { name: 'Cleo Customer', email: `cleo-${Math.random().toString(36).slice(2)}@customer.test`, title, description: 'Since Monday.' });

const row = (id: number) => db.prisma.ticket.findUniqueOrThrow({ where: { id } });

/** The stored due times equal a recomputation from history now. */
async function expectStoredIsRecomputed(id: number) {
  const r = (await readSla(db.prisma, [id])).get(id)!;
  expect(r.current).toEqual(r.stored);
  return r;
}

describe('the clock on a ticket', () => {
  it('stores due times at creation, meets the first response with a reply, pauses while waiting on the customer', async () => {
    const t = await fromWeb();
    let now = await row(t.id);
    expect(now.slaPolicyId).not.toBeNull();
    expect(now.slaFirstResponseDueAt!.getTime()).toBe(t.createdAt.getTime() + 120 * MIN);
    expect(now.slaResolutionDueAt!.getTime()).toBe(t.createdAt.getTime() + 2400 * MIN);
    expect(now.slaDueAt).toEqual(now.slaFirstResponseDueAt);
    await expectStoredIsRecomputed(t.id);

    await takeTicket(as(db, tech), { reference: t.reference, version: now.version });
    await changeStatus(as(db, tech), { reference: t.reference }, 'IN_PROGRESS');
    await addWorkLog(as(db, tech), t.reference, { kind: 'REPLY', body: 'Which VPN client do you use?' }, { waitForCustomer: true });
    now = await row(t.id);
    expect(now.status).toBe('WAITING_ON_CUSTOMER');
    // First response met; the resolution clock paused: nothing is due while the customer is asked.
    expect(now.slaFirstResponseDueAt).toBeNull();
    expect(now.slaResolutionDueAt).toBeNull();
    expect(now.slaDueAt).toBeNull();
    await expectStoredIsRecomputed(t.id);

    // The customer answers: the next response is due, the resolution clock runs again.
    await addCustomerReply(db.prisma, t.id, 'Cisco AnyConnect 4.10.');
    now = await row(t.id);
    expect(now.slaNextResponseDueAt).not.toBeNull();
    expect(now.slaResolutionDueAt).not.toBeNull();
    const r = await expectStoredIsRecomputed(t.id);
    const resolution = r.computation!.clocks.find((c) => c.kind === 'RESOLUTION')!;
    expect(resolution.pauses).toHaveLength(1);
    expect(resolution.pauses[0]!.reason).toBe('WAITING_ON_CUSTOMER');
  });

  it('a staff-logged ticket has its first response at creation; resolving stops the clock and reopening resumes it', async () => {
    const t = await buildTicket(db, tech, { urgency: 'CRITICAL' });
    let now = await row(t.id);
    expect(now.slaFirstResponseDueAt).toBeNull();
    expect(now.slaResolutionDueAt!.getTime()).toBe(t.createdAt.getTime() + 240 * MIN);
    await resolveTicket(as(db, tech), { reference: t.reference, version: now.version }, { code: 'FIXED', note: 'Restarted the spooler.' });
    now = await row(t.id);
    expect(now.slaDueAt).toBeNull();
    await reopenTicket(as(db, tech), { reference: t.reference, version: now.version }, 'It came back.');
    now = await row(t.id);
    const r = await expectStoredIsRecomputed(t.id);
    const resolution = r.computation!.clocks.find((c) => c.kind === 'RESOLUTION')!;
    expect(resolution.state).toBe('running');
    expect(resolution.stops).toHaveLength(1);
    // The time before the resolution still counts: due later than 4 h after creation by the stop.
    expect(now.slaResolutionDueAt!.getTime()).toBeGreaterThan(t.createdAt.getTime() + 240 * MIN);
  });

  it('a raised urgency takes that urgency’s targets at once', async () => {
    const t = await fromWeb();
    const before = await row(t.id);
    await changeUrgency(as(db, tech), { reference: t.reference, version: before.version }, 'CRITICAL');
    const after = await row(t.id);
    expect(after.slaFirstResponseDueAt!.getTime()).toBe(t.createdAt.getTime() + 30 * MIN);
    await expectStoredIsRecomputed(t.id);
  });
});

describe('warnings and breaches', () => {
  it('warns at the policy’s share, then breaches once: notified, escalated as a change by SLA', async () => {
    const t = await fromWeb('Payroll export fails');
    const created = t.createdAt.getTime();
    // Before the warning: nothing.
    expect(await checkSlaTicket(db.prisma, t.id, new Date(created + 60 * MIN))).toEqual([]);
    // 75% of the 120 min first response: the warning.
    expect(await checkSlaTicket(db.prisma, t.id, new Date(created + 91 * MIN))).toEqual(['FIRST_RESPONSE:1:warning']);
    expect(await checkSlaTicket(db.prisma, t.id, new Date(created + 92 * MIN))).toEqual([]);
    const before = await countRows(db);
    const breachesCounted = async () =>
      (await slaBreachesTotal.get()).values.find((v) => v.labels.target === 'FIRST_RESPONSE')?.value ?? 0;
    const countedBefore = await breachesCounted();
    // Past the target: the breach, acted on once whoever runs the job.
    const acted = await Promise.all([
      checkSlaTicket(db.prisma, t.id, new Date(created + 121 * MIN)),
      checkSlaTicket(db.prisma, t.id, new Date(created + 121 * MIN)),
    ]);
    expect(acted.flat()).toEqual(['FIRST_RESPONSE:1:breach']);
    // …and counted once in caseboard_sla_breaches_total (src/observability/metrics.ts).
    expect((await breachesCounted()) - countedBefore).toBe(1);
    const after = await countRows(db);
    expect(after.SlaEvent! - before.SlaEvent!).toBe(1);
    const now = await row(t.id);
    expect(now.urgency).toBe('HIGH');
    const history = await db.prisma.ticketHistory.findMany({ where: { ticketId: t.id, field: 'urgency' } });
    expect(history).toEqual([expect.objectContaining({ actorSystem: 'sla', oldValue: 'NORMAL', newValue: 'HIGH', actorId: null })]);
    const notices = await db.prisma.notification.findMany({ where: { ticketId: t.id, kind: { in: ['SLA_WARNING', 'SLA_BREACH'] } } });
    expect(new Set(notices.map((n) => n.kind))).toEqual(new Set(['SLA_WARNING', 'SLA_BREACH']));
    await expectStoredIsRecomputed(t.id);
  });

  it('a breach gives the ticket to the team’s lead when the policy says so', async () => {
    const lead = await buildUser(db, { name: 'Lena Lead' });
    const team = await createTeam(as(db, admin), { name: 'Network', autoAssign: 'OFF', maxOpenPerPerson: null });
    await addTeamMember(as(db, admin), team.id, lead.id);
    await addTeamMember(as(db, admin), team.id, tech.id);
    const current = await db.prisma.team.findUniqueOrThrow({ where: { id: team.id } });
    await updateTeam(as(db, admin), team.id, current.version, { name: 'Network', autoAssign: 'OFF', maxOpenPerPerson: null, leadId: lead.id });
    const history = await db.prisma.teamHistory.findMany({ where: { teamId: team.id, field: 'leadId' } });
    expect(history).toEqual([expect.objectContaining({ oldValue: null, newValue: 'Lena Lead' })]);
    await createPolicy(as(db, admin), policy({ name: 'Network', isDefault: false, matchTeamId: team.id, escalateUrgency: false, escalateToLead: true }));
    const t = await buildTicket(db, tech, { teamId: team.id });
    const acted = await checkSlaTicket(db.prisma, t.id, new Date(t.createdAt.getTime() + 2401 * MIN));
    expect(acted).toEqual(['RESOLUTION:1:breach']);
    const now = await row(t.id);
    expect(now.assigneeId).toBe(lead.id);
    expect(now.status).toBe('OPEN');
    const rows = await db.prisma.ticketHistory.findMany({ where: { ticketId: t.id, field: 'assigneeId' } });
    expect(rows).toEqual([expect.objectContaining({ actorSystem: 'sla', newValue: 'Lena Lead' })]);
    // The lead is told by the assignment itself.
    expect(await db.prisma.notification.count({ where: { ticketId: t.id, userId: lead.id } })).toBeGreaterThan(0);
  });

  it('a job for a moment that moved does nothing', async () => {
    const t = await fromWeb();
    await addWorkLog(as(db, tech), t.reference, { kind: 'REPLY', body: 'On it.' });
    expect(await checkSlaTicket(db.prisma, t.id, new Date(t.createdAt.getTime() + 121 * MIN))).toEqual([]);
  });
});

describe('stored equals recomputed', () => {
  it('after any sequence of changes (property)', async () => {
    const step = fc.constantFrom('reply', 'wait', 'customer', 'resolve', 'reopen', 'critical', 'low', 'note');
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), async (steps) => {
        const t = await fromWeb();
        for (const s of steps) {
          const cur = await row(t.id);
          const target = { reference: t.reference, version: cur.version };
          await (async () => {
            if (s === 'reply') await addWorkLog(as(db, tech), t.reference, { kind: 'REPLY', body: 'Try this.' });
            else if (s === 'wait') await changeStatus(as(db, tech), target, 'WAITING_ON_CUSTOMER');
            else if (s === 'customer') await addCustomerReply(db.prisma, t.id, 'Still broken.');
            else if (s === 'resolve') await resolveTicket(as(db, tech), target, { code: 'FIXED', note: 'Done.' });
            else if (s === 'reopen') await reopenTicket(as(db, tech), target, 'Back.');
            else if (s === 'critical') await changeUrgency(as(db, tech), target, 'CRITICAL');
            else if (s === 'low') await changeUrgency(as(db, tech), target, 'LOW');
            else await addWorkLog(as(db, tech), t.reference, { kind: 'NOTE', body: 'Looked.' });
          })().catch((err: Error) => {
            // A move the status rules refuse (resolving a resolved ticket…) changes nothing.
            if (!/allowed|closed|cannot|Ticket|status/i.test(err.message)) throw err;
          });
          await expectStoredIsRecomputed(t.id);
        }
      }),
      { numRuns: 15, seed: 20261207 },
    );
  });

  it('a changed policy reaches the open tickets through the sweep', async () => {
    const t = await fromWeb();
    const settings = await db.prisma.slaPolicy.findFirstOrThrow({ where: { name: 'Around the clock' } });
    await updatePolicy(as(db, admin), settings.id, settings.version, policy({
      name: 'Around the clock',
      targets: { NORMAL: { firstResponseMinutes: 60, nextResponseMinutes: 240, resolutionMinutes: 2400 } },
    }));
    for (let after: number | null = 0; after !== null; ) after = await sweepSlaBatch(db.prisma, after);
    const now = await row(t.id);
    expect(now.slaFirstResponseDueAt!.getTime()).toBe(t.createdAt.getTime() + 60 * MIN);
  });
});

describe('policies chosen by organization', () => {
  it('a customer of the organization gets its policy, computed in the creation’s transaction', async () => {
    const org = await createOrganization(as(db, admin), { name: 'Acme VIP', domains: 'acme-vip.example' });
    const p = await createPolicy(as(db, admin), policy({ name: 'Acme contract', isDefault: false, matchOrganizationId: org.id }));
    const t = await submitWebRequest(db.prisma, { name: 'Vic', email: 'vic@acme-vip.example', title: 'Invoices missing', description: 'Since March.' });
    const now = await row(t.id);
    expect(now.slaPolicyId).toBe(p.id);
    await expectStoredIsRecomputed(t.id);
    const other = await fromWeb();
    expect((await row(other.id)).slaPolicyId).not.toBe(p.id);
    // Deactivated: tickets go back to the default policy when they next change (and through the sweep).
    await updatePolicy(as(db, admin), p.id, p.version, { ...policy({ name: 'Acme contract', isDefault: false, matchOrganizationId: org.id }), active: false });
    for (let after: number | null = 0; after !== null; ) after = await sweepSlaBatch(db.prisma, after);
    expect((await row(t.id)).slaPolicyId).not.toBe(p.id);
    await expectStoredIsRecomputed(t.id);
  });
});

describe('business hours', () => {
  it('a Berlin office calendar with a holiday: the clock skips nights, weekends and the holiday', async () => {
    const cal = await createCalendar(as(db, admin), {
      name: 'Berlin office',
      timeZone: 'Europe/Berlin',
      hours: { ...ALL_DAYS, 1: [{ start: 480, end: 1080 }], 2: [{ start: 480, end: 1080 }], 3: [{ start: 480, end: 1080 }], 4: [{ start: 480, end: 1080 }], 5: [{ start: 480, end: 1080 }] },
    });
    await addHoliday(as(db, admin), cal.id, { date: '2026-12-25', name: 'Christmas' });
    const p = await createPolicy(as(db, admin), policy({ name: 'Berlin critical', isDefault: false, calendarId: cal.id, matchUrgencies: ['CRITICAL'] }));
    const t = await buildTicket(db, tech, { urgency: 'CRITICAL' });
    const r = (await readSla(db.prisma, [t.id])).get(t.id)!;
    expect(r.policy?.id).toBe(p.id);
    expect(r.current).toEqual(r.stored);
  });
});

describe('settings pages', () => {
  it('bad input gets a clear message and writes nothing', async () => {
    await expectRefused(db, () => agent.post('/sla/calendars').type('form').send({ _csrf: csrf, name: 'Bad', timeZone: 'Mars/Olympus', hours1: '08:00-18:00' }), 422, 'time zone');
    await expectRefused(db, () => agent.post('/sla/calendars').type('form').send({ _csrf: csrf, name: 'Bad', timeZone: 'UTC', hours1: '18:00-08:00' }), 422, 'must end after it starts');
    await expectRefused(db, () => agent.post('/sla/policies').type('form').send({ _csrf: csrf, name: 'No targets', warnPercent: '75' }), 422, 'at least one target');
    await expectRefused(
      db,
      () => agent.post('/sla/policies').type('form').send({ _csrf: csrf, name: 'Bad target', warnPercent: '75', 'first-CRITICAL': 'soon' }),
      422,
      'not a duration',
    );
    await expectRefused(db, () => agent.post('/sla/calendars/999999/holidays').type('form').send({ _csrf: csrf, date: '2026-02-30', holidayName: 'Nope' }), 404);
  });

  it('an admin sets up a calendar and a policy through the pages; technicians read them', async () => {
    const res = await agent.post('/sla/calendars').type('form').send({
      _csrf: csrf,
      name: 'Office hours',
      timeZone: 'Europe/Berlin',
      hours1: '08:00-18:00', hours2: '08:00-18:00', hours3: '08:00-18:00', hours4: '08:00-18:00', hours5: '08:00-18:00',
    });
    expect(res.status).toBe(303);
    const cal = await db.prisma.businessCalendar.findFirstOrThrow({ where: { name: 'Office hours' } });
    const created = await agent.post('/sla/policies').type('form').send({
      _csrf: csrf,
      name: 'Critical office',
      position: '1',
      calendarId: String(cal.id),
      warnPercent: '80',
      escalateUrgency: 'on',
      active: 'on',
      'matchUrgencies': 'CRITICAL',
      'first-CRITICAL': '30m',
      'resolution-CRITICAL': '4h',
    });
    expect(created.status).toBe(303);
    const p = await db.prisma.slaPolicy.findFirstOrThrow({ where: { name: 'Critical office' }, include: { targets: true } });
    expect(p.targets).toEqual([expect.objectContaining({ urgency: 'CRITICAL', firstResponseMinutes: 30, resolutionMinutes: 240, nextResponseMinutes: null })]);
    const { agent: techAgent } = await signIn(app, tech.email);
    const page = await techAgent.get('/sla');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Critical office');
    expect(page.text).not.toContain('New policy');
    const forbidden = await techAgent.post('/sla/policies').type('form').send({ _csrf: csrfOf(page.text), name: 'X' });
    expect(forbidden.status).toBe(403);
  });
});

describe('automation rules and business hours', () => {
  it('a rule condition asks whether a calendar is open when the event happens', async () => {
    const everyDay = Object.fromEntries([1, 2, 3, 4, 5, 6, 7].map((d) => [d, [{ start: 0, end: 1440 }]])) as never;
    const open = await createCalendar(as(db, admin), { name: 'Always open', timeZone: 'UTC', hours: everyDay });
    const closed = await createCalendar(as(db, admin), { name: 'Closed today', timeZone: 'UTC', hours: everyDay });
    await addHoliday(as(db, admin), closed.id, { date: new Date().toISOString().slice(0, 10), name: 'Today' });
    for (const [cal, inside, tag] of [[open, true, 'in-hours'], [closed, false, 'after-hours']] as const) {
      const rule = await createRule(as(db, admin), {
        name: `Tag ${tag}`,
        description: null,
        event: 'CREATED',
        quietHours: null,
        conditions: { type: 'all', conditions: [{ type: 'businessHours', calendarId: cal.id, calendarName: cal.name, inside }] },
        actions: [{ type: 'addTag', tag }],
      });
      await setRuleActive(as(db, admin), rule.id, true);
    }
    const t = await fromWeb('Label printer offline');
    expect((await row(t.id)).tags.sort()).toEqual(['after-hours', 'in-hours']);
    const log = await db.prisma.automationRuleLog.findFirstOrThrow({ where: { ticketId: t.id, rule: { name: 'Tag after-hours' } } });
    expect(JSON.stringify(log)).toContain('outside the business hours of Closed today');
  });
});

describe('a rule attaches a run book', () => {
  it('an automation rule attaches the published run book, recorded as done by the rule', async () => {
    const rb = await createRunbook(as(db, admin), {
      title: 'Label printer offline',
      keywords: ['printer'],
      publish: true,
      steps: [{ title: 'Power-cycle the printer', instructions: 'Hold the button 10 s.', checkKind: 'YES_NO', checkLabel: 'Back online?', isFix: true }],
    });
    const rule = await createRule(as(db, admin), {
      name: 'Printers get their run book',
      description: null,
      event: 'CREATED',
      quietHours: null,
      conditions: { type: 'all', conditions: [{ type: 'text', where: 'title', value: 'label printer' }] },
      actions: [{ type: 'attachRunbook', runbookId: rb.id, runbookTitle: 'Label printer offline' }],
    });
    await setRuleActive(as(db, admin), rule.id, true);
    const t = await fromWeb('The label printer in shipping is offline');
    const attached = await db.prisma.ticketRunbook.findMany({ where: { ticketId: t.id } });
    expect(attached).toEqual([expect.objectContaining({ runbookId: rb.id, how: 'BY_RULE', attachedBySystem: 'rule', attachedById: null })]);
    const history = await db.prisma.ticketHistory.findFirstOrThrow({ where: { ticketId: t.id, action: 'RUNBOOK_ATTACHED' } });
    expect(history).toEqual(expect.objectContaining({ actorSystem: 'rule', actorRuleId: rule.id }));
    const other = await fromWeb('Mail bounces');
    expect(await db.prisma.ticketRunbook.count({ where: { ticketId: other.id } })).toBe(0);
  });
});

describe('pages', () => {
  it('a ticket no policy applies to has no SLA panel (and no SLA query)', async () => {
    await db.prisma.slaPolicy.updateMany({ data: { active: false } });
    invalidateSlaSettings();
    const t = await fromWeb('No policy for this one');
    expect((await row(t.id)).slaPolicyId).toBeNull();
    const page = await agent.get(`/tickets/${t.reference}`);
    expect(page.status).toBe(200);
    expect(page.text).not.toContain('id="sla"');
    await db.prisma.slaPolicy.updateMany({ where: { name: 'Around the clock' }, data: { active: true } });
    invalidateSlaSettings();
  });

  it('the queue shows time left in words and sorts due first; the ticket page explains the clock', async () => {
    const t = await fromWeb('Mail server down');
    const queue = await agent.get('/tickets?sort=due');
    expect(queue.status).toBe(200);
    expect(queue.text).toMatch(/class="sla sla-(ok|soon|overdue)"><time datetime="[^"]+" title="SLA due [^"]+">(Due in|Overdue by) /);
    const page = await agent.get(`/tickets/${t.reference}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('id="sla"');
    expect(page.text).toContain('Every minute of this clock');
    // The head says what is due, at a glance.
    expect(page.text).toMatch(/<li>SLA: <a href="#sla" class="sla sla-\w+">Due in /);
    expect(page.text).toMatch(/First response<\/strong>: <span class="sla sla-\w+">Due in/);
  });
});

export type { Ticket };
