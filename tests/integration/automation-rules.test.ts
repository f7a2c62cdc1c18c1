// Automation rules: event rules run in the transaction of the change that triggered them, as the
// rule (history rows and entries name it), with a loop guard, a per-rule log and a dry run that
// writes nothing; time-based rules run from a sweep.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import type TestAgent from 'supertest/lib/agent.js';
import { createTestDatabase, countRows, type TestDatabase } from '../helpers/db.js';
import { as, buildTicket, buildUser } from '../helpers/factories.js';
import { csrfOf, signIn, testApp } from '../helpers/http.js';
import type { Actor } from '../../src/services/context.js';
import { createRule, invalidateRulesCache, setRuleActive, updateRule, type RuleInput } from '../../src/services/automation/rules.js';
import { dryRunRule } from '../../src/services/automation/dry-run.js';
import { runRuleSweep } from '../../src/services/automation/sweep.js';
import { changeUrgency } from '../../src/services/tickets/change-urgency.js';
import { addCustomerReply } from '../../src/services/public/customer-ticket.js';
import { getTicketView } from '../../src/services/tickets/ticket-view.js';
import { timeline } from '../../src/web/presenters/ticket.js';
import { ForbiddenError, ValidationError } from '../../src/services/errors.js';
import { MAX_EVENT_ROUNDS } from '../../src/services/tickets/events.js';

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
const rule = (over: Partial<RuleInput>): RuleInput => ({
  name: `Rule ${n++} ${Date.now()}`,
  description: null,
  event: 'CREATED',
  quietHours: null,
  conditions: { type: 'all', conditions: [] },
  actions: [],
  ...over,
});

/** Creates and activates a rule; every rule made by one test is switched off by `off()`. */
const made: number[] = [];
async function active(over: Partial<RuleInput>) {
  const r = await createRule(as(db, admin), rule(over));
  await setRuleActive(as(db, admin), r.id, true);
  made.push(r.id);
  return r;
}
async function off() {
  for (const id of made.splice(0)) await setRuleActive(as(db, admin), id, false);
}

const history = (ticketId: number) =>
  db.prisma.ticketHistory.findMany({ where: { ticketId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], include: { actorRule: true } });

describe('event rules', () => {
  it('fire on creation, in its transaction, as the rule: history names it, the page shows "Rule: <name>"', async () => {
    const r = await active({
      name: 'VIP customers → High',
      conditions: { type: 'all', conditions: [{ type: 'customer', match: 'domain', value: 'vip.test' }] },
      actions: [{ type: 'setUrgency', urgency: 'HIGH' }, { type: 'addTag', tag: 'VIP' }, { type: 'addNote', body: 'VIP: {{customer.name}} ({{ticket.reference}})' }],
    });
    try {
      const vip = await buildTicket(db, tech, { customer: { name: 'Vera Vip', email: 'vera@vip.test' } });
      const plain = await buildTicket(db, tech);
      const t = await db.prisma.ticket.findUniqueOrThrow({ where: { id: vip.id } });
      expect(t.urgency).toBe('HIGH');
      expect(t.tags).toEqual(['vip']);
      expect((await db.prisma.ticket.findUniqueOrThrow({ where: { id: plain.id } })).urgency).toBe('NORMAL');
      const rows = (await history(vip.id)).filter((h) => h.action === 'CHANGED' || h.action === 'WORKLOG_ADDED');
      expect(rows.length).toBe(3);
      for (const h of rows) {
        expect(h.actorSystem).toBe('rule');
        expect(h.actorRuleId).toBe(r.id);
        expect(h.actorId).toBeNull();
      }
      const note = await db.prisma.workLogEntry.findFirstOrThrow({ where: { ticketId: vip.id } });
      expect(note.body).toBe(`VIP: Vera Vip (${vip.reference})`);
      expect(note.authorRuleId).toBe(r.id);
      const view = await getTicketView(as(db, tech), vip.reference);
      expect(view.workLog[0]!.author).toMatchObject({ name: 'Rule: VIP customers → High', system: true, ruleId: r.id });
      const lines = timeline(view.history);
      expect(lines.some((l) => l.actor === 'Rule: VIP customers → High' && l.summary.includes('urgency') && l.ruleId === r.id)).toBe(true);
      const page = await agent.get(`/tickets/${vip.reference}`);
      expect(page.text).toContain(`href="/rules/${r.id}"`);
      expect(page.text).toContain('Rule: VIP customers → High');
      // The log: one matched firing with its conditions and actions.
      const log = await db.prisma.automationRuleLog.findMany({ where: { ruleId: r.id } });
      expect(log).toHaveLength(1);
      expect(log[0]).toMatchObject({ ticketId: vip.id, matched: true, event: 'CREATED' });
      expect(log[0]!.conditions).toEqual([{ condition: "customer's domain is vip.test", ok: true, actual: 'vip.test' }]);
      expect((log[0]!.actions as { ok: boolean }[]).every((a) => a.ok)).toBe(true);
    } finally {
      await off();
    }
  });

  it('fire on a change and on a customer reply (latest message contains)', async () => {
    await active({
      event: 'UPDATED',
      conditions: { type: 'all', conditions: [{ type: 'field', field: 'urgency', values: ['CRITICAL'], negate: false }] },
      actions: [{ type: 'addTag', tag: 'escalated' }],
    });
    await active({
      event: 'CUSTOMER_REPLIED',
      conditions: { type: 'any', conditions: [{ type: 'text', where: 'latestMessage', value: 'REFUND' }] },
      actions: [{ type: 'addTag', tag: 'billing' }],
    });
    try {
      const t = await buildTicket(db, tech);
      await changeUrgency(as(db, tech), { reference: t.reference, version: t.version }, 'CRITICAL');
      expect((await db.prisma.ticket.findUniqueOrThrow({ where: { id: t.id } })).tags).toEqual(['escalated']);
      await addCustomerReply(db.prisma, t.id, 'Thanks. Can I get a refund please?');
      expect((await db.prisma.ticket.findUniqueOrThrow({ where: { id: t.id } })).tags).toEqual(['escalated', 'billing']);
      await addCustomerReply(db.prisma, t.id, 'Another message without the word.');
      expect((await db.prisma.ticket.findUniqueOrThrow({ where: { id: t.id } })).tags).toEqual(['escalated', 'billing']);
    } finally {
      await off();
    }
  });

  it('loop guard: two rules flipping urgency back and forth stop, and the log says so', async () => {
    const up = await active({
      event: 'UPDATED',
      conditions: { type: 'all', conditions: [{ type: 'field', field: 'urgency', values: ['LOW'], negate: false }] },
      actions: [{ type: 'setUrgency', urgency: 'HIGH' }],
    });
    const down = await active({
      event: 'UPDATED',
      conditions: { type: 'all', conditions: [{ type: 'field', field: 'urgency', values: ['HIGH'], negate: false }] },
      actions: [{ type: 'setUrgency', urgency: 'LOW' }],
    });
    try {
      const t = await buildTicket(db, tech);
      await changeUrgency(as(db, tech), { reference: t.reference, version: t.version }, 'LOW');
      const rows = (await history(t.id)).filter((h) => h.field === 'urgency');
      // The person's change, then each rule once: LOW → HIGH (up), HIGH → LOW (down); then the guard.
      expect(rows.map((h) => [h.actorRuleId, h.newValue])).toEqual([[null, 'LOW'], [up.id, 'HIGH'], [down.id, 'LOW']]);
      expect(rows.length).toBeLessThanOrEqual(MAX_EVENT_ROUNDS + 1);
      const stopped = await db.prisma.automationRuleLog.findMany({ where: { ticketId: t.id, note: { contains: 'Loop guard' } } });
      expect(stopped.map((l) => l.ruleId)).toEqual([up.id]);
    } finally {
      await off();
    }
  });

  it('an action that cannot apply is logged as failed; the rest and the person\'s change go on', async () => {
    const outsider = await buildUser(db, { name: 'Otto Outsider' });
    const other = await db.prisma.team.create({ data: { name: `Elsewhere ${Date.now()}` } });
    const r = await active({
      event: 'UPDATED',
      conditions: { type: 'all', conditions: [{ type: 'field', field: 'urgency', values: ['HIGH'], negate: false }] },
      actions: [{ type: 'setTeam', teamId: other.id }, { type: 'setOwner', userId: outsider.id }, { type: 'addTag', tag: 'moved' }],
    });
    try {
      const t = await buildTicket(db, tech);
      await changeUrgency(as(db, tech), { reference: t.reference, version: t.version }, 'HIGH');
      const now = await db.prisma.ticket.findUniqueOrThrow({ where: { id: t.id } });
      expect(now).toMatchObject({ urgency: 'HIGH', teamId: other.id, assigneeId: null, tags: ['moved'] });
      const [log] = await db.prisma.automationRuleLog.findMany({ where: { ruleId: r.id } });
      const actions = log!.actions as { action: string; ok: boolean; detail: string }[];
      expect(actions.map((a) => a.ok)).toEqual([true, false, true]);
      expect(actions[1]!.detail).toContain('is not in the team');
    } finally {
      await off();
    }
  });

  it('inactive rules do nothing; with no rule listening to creations a ticket is created without a transaction', async () => {
    const r = await createRule(as(db, admin), rule({ actions: [{ type: 'setUrgency', urgency: 'CRITICAL' }] }));
    invalidateRulesCache();
    const t = await buildTicket(db, tech);
    expect(t.urgency).toBe('NORMAL');
    expect(await db.prisma.automationRuleLog.count({ where: { ruleId: r.id } })).toBe(0);
    const { automationHandler } = await import('../../src/services/automation/engine.js');
    expect(await automationHandler.active!(db.prisma)).toBe(false);
  });

  it('a reply from a template is an entry and a mail, signed by the team, never by the rule', async () => {
    const r = await active({
      conditions: { type: 'all', conditions: [{ type: 'text', where: 'title', value: 'password' }] },
      actions: [{ type: 'sendReply', body: 'Hello {{customer.name}}, about {{ticket.reference}}: see the reset page.' }],
    });
    try {
      const t = await buildTicket(db, tech, { title: 'Forgot my PASSWORD', customer: { name: 'Pat', email: `pat-${Date.now()}@c.test` } });
      const entry = await db.prisma.workLogEntry.findFirstOrThrow({ where: { ticketId: t.id, kind: 'REPLY' } });
      expect(entry).toMatchObject({ authorSystem: 'rule', authorRuleId: r.id, authorId: null });
      const mail = await db.prisma.outboundMail.findFirstOrThrow({ where: { ticketId: t.id, kind: 'REPLY' } });
      expect(mail.payload).toMatchObject({ body: `Hello Pat, about ${t.reference}: see the reset page.`, author: 'Service desk' });
    } finally {
      await off();
    }
  });
});

describe('managing rules', () => {
  it('technicians cannot manage rules; bad templates and "me" are refused, nothing written', async () => {
    await expect(createRule(as(db, tech), rule({ actions: [{ type: 'setUrgency', urgency: 'HIGH' }] }))).rejects.toBeInstanceOf(ForbiddenError);
    const before = await countRows(db);
    await expect(createRule(as(db, admin), rule({ actions: [{ type: 'addNote', body: 'Hi {{customer.password}}' }] }))).rejects.toThrow(/unknown placeholder \{\{customer.password\}\}/);
    await expect(createRule(as(db, admin), rule({ actions: [{ type: 'addNote', body: '{{#ticket}}x{{/ticket}}' }] }))).rejects.toBeInstanceOf(ValidationError);
    await expect(createRule(as(db, admin), rule({ actions: [{ type: 'setOwner', userId: 'me' }] }))).rejects.toBeInstanceOf(ValidationError);
    await expect(createRule(as(db, admin), rule({ event: 'NO_UPDATE', actions: [{ type: 'addTag', tag: 'x' }] }))).rejects.toBeInstanceOf(ValidationError);
    expect(await countRows(db)).toEqual(before);
  });

  it('every change is in the rule history, which refuses UPDATE and DELETE', async () => {
    const conditions = { type: 'all' as const, conditions: [{ type: 'field' as const, field: 'urgency' as const, values: ['LOW'], negate: false }] };
    const r = await createRule(as(db, admin), rule({ conditions, actions: [{ type: 'setUrgency', urgency: 'HIGH' }] }));
    await updateRule(as(db, admin), r.id, r.version, rule({ name: r.name, conditions, actions: [{ type: 'setUrgency', urgency: 'LOW' }] }));
    // Saved again unchanged (conditions read back from jsonb, keys in another order): no row.
    const again = await db.prisma.automationRule.findUniqueOrThrow({ where: { id: r.id } });
    await updateRule(as(db, admin), r.id, again.version, rule({ name: r.name, conditions: again.conditions as never, actions: again.actions as never }));
    await setRuleActive(as(db, admin), r.id, true);
    await setRuleActive(as(db, admin), r.id, false);
    const rows = await db.prisma.automationRuleHistory.findMany({ where: { ruleId: r.id }, orderBy: { id: 'asc' } });
    expect(rows.map((h) => `${h.action}:${h.field ?? ''}`)).toEqual(['CREATED:', 'CHANGED:actions', 'ACTIVATED:', 'DEACTIVATED:']);
    await expect(db.pool.query(`UPDATE "AutomationRuleHistory" SET "newValue" = 'x' WHERE "ruleId" = $1`, [r.id])).rejects.toThrow();
    await expect(db.pool.query(`DELETE FROM "AutomationRuleHistory" WHERE "ruleId" = $1`, [r.id])).rejects.toThrow();
  });
});

describe('dry run', () => {
  it('lists the open tickets that would match, with the reasons and what would change, writing nothing', async () => {
    const a = await buildTicket(db, tech, { title: 'VPN drops every hour', urgency: 'LOW' });
    const b = await buildTicket(db, tech, { title: 'VPN slow', urgency: 'HIGH' });
    const before = await countRows(db);
    const run = await dryRunRule(as(db, tech), rule({
      event: 'UPDATED',
      conditions: { type: 'all', conditions: [{ type: 'text', where: 'title', value: 'vpn' }, { type: 'field', field: 'urgency', values: ['LOW', 'NORMAL'], negate: false }] },
      actions: [{ type: 'setUrgency', urgency: 'HIGH' }, { type: 'addTag', tag: 'vpn' }],
    }));
    expect(await countRows(db)).toEqual(before);
    expect(run.matches.map((m) => m.reference)).toContain(a.reference);
    expect(run.matches.map((m) => m.reference)).not.toContain(b.reference);
    const line = run.matches.find((m) => m.reference === a.reference)!;
    expect(line.conditions.map((c) => c.ok)).toEqual([true, true]);
    expect(line.actions.map((x) => x.detail)).toEqual(['urgency: Low → High', 'tag + vpn']);
    expect((await db.prisma.ticket.findUniqueOrThrow({ where: { id: a.id } })).urgency).toBe('LOW');
  });
});

describe('time-based rules', () => {
  it('fire once per ticket per quiet period, through the same actions', async () => {
    const t = await buildTicket(db, tech, { title: 'Quiet one' });
    const fresh = await buildTicket(db, tech, { title: 'Fresh one' });
    await db.pool.query(`UPDATE "Ticket" SET "updatedAt" = now() - interval '30 hours' WHERE id = $1`, [t.id]);
    const r = await active({
      event: 'NO_UPDATE',
      quietHours: 24,
      conditions: { type: 'all', conditions: [{ type: 'field', field: 'owner', values: ['unassigned'], negate: false }] },
      actions: [{ type: 'addNote', body: 'Nobody has touched {{ticket.reference}} for a day.' }],
    });
    try {
      const first = await runRuleSweep(db.prisma);
      expect(first.fired).toBe(1);
      const notes = () => db.prisma.workLogEntry.count({ where: { ticketId: t.id, authorRuleId: r.id } });
      expect(await notes()).toBe(1);
      expect(await db.prisma.workLogEntry.count({ where: { ticketId: fresh.id } })).toBe(0);
      // Again: the same quiet period, nothing new.
      expect((await runRuleSweep(db.prisma)).fired).toBe(0);
      expect(await notes()).toBe(1);
      // Updated, then quiet again: it fires again.
      await changeUrgency(as(db, tech), { reference: t.reference }, 'HIGH');
      await db.pool.query(`UPDATE "Ticket" SET "updatedAt" = now() - interval '25 hours' WHERE id = $1`, [t.id]);
      expect((await runRuleSweep(db.prisma)).fired).toBe(1);
      expect(await notes()).toBe(2);
      expect(await db.prisma.automationRuleLog.count({ where: { ruleId: r.id, event: 'NO_UPDATE' } })).toBe(2);
    } finally {
      await off();
    }
  });
});

describe('the pages', () => {
  it('create through the form (rows, names looked up); bad input is a 422 with nothing written; "Try it" writes nothing', async () => {
    const form = await agent.get('/rules/new').expect(200);
    const token = csrfOf(form.text);
    const base = { _csrf: token, name: `Printers ${Date.now()}`, event: 'UPDATED', match: 'all', quietHours: '' };
    const before = await countRows(db);
    for (const bad of [
      { ...base, c0_kind: 'team', c0_value: 'No Such Team', a0_kind: 'addTag', a0_value: 'x' },
      { ...base, c0_kind: 'urgency', c0_value: 'Somewhat', a0_kind: 'addTag', a0_value: 'x' },
      { ...base, a0_kind: 'addNote', a0_value: 'Hi {{customer.secret}}' },
      { ...base, a0_kind: 'setStatus', a0_value: 'Closed' },
      { ...base, name: '' },
      { ...base, event: 'NO_UPDATE', a0_kind: 'addTag', a0_value: 'x' },
      { ...base },
    ]) {
      const res = await agent.post('/rules').type('form').send(bad);
      expect(res.status).toBe(422);
    }
    expect(await countRows(db)).toEqual(before);
    const t = await buildTicket(db, tech, { title: 'Printer jam on floor 2' });
    const rows = { ...base, c0_kind: 'title', c0_value: 'printer jam', c1_kind: 'team', c1_value: 'service desk', a0_kind: 'setUrgency', a0_value: 'High', a1_kind: 'addTag', a1_value: 'printers' };
    const before2 = await countRows(db);
    const tried = await agent.post('/rules/try').type('form').send(rows).expect(200);
    expect(tried.text).toContain(t.reference);
    expect(tried.text).toContain('urgency: Normal → High');
    expect(await countRows(db)).toEqual(before2);
    const created = await agent.post('/rules').type('form').send(rows).expect(303);
    const id = Number(/\/rules\/(\d+)/.exec(created.headers.location as string)![1]);
    const rule = await db.prisma.automationRule.findUniqueOrThrow({ where: { id } });
    expect(rule.active).toBe(false);
    expect(rule.conditions).toEqual({ type: 'all', conditions: [
      { type: 'text', where: 'title', value: 'printer jam' },
      { type: 'field', field: 'team', values: [(await db.prisma.team.findFirstOrThrow({ where: { isDefault: true } })).id], negate: false },
    ] });
    const page = await agent.get(`/rules/${id}`).expect(200);
    await agent.post(`/rules/${id}/active`).type('form').send({ _csrf: csrfOf(page.text), active: 'true' }).expect(303);
    made.push(id);
    try {
      await changeUrgency(as(db, tech), { reference: t.reference }, 'LOW');
      const shown = await agent.get(`/rules/${id}`).expect(200);
      expect(shown.text).toContain(t.reference);
      expect(shown.text).toContain('title contains “printer jam”');
      const edit = await agent.get(`/rules/${id}/edit`).expect(200);
      expect(edit.text).toContain('value="Service desk"');
    } finally {
      await off();
    }
    // Technicians read, but do not manage.
    const { agent: techAgent } = await signIn(app, tech.email);
    await techAgent.get('/rules').expect(200);
    await techAgent.get(`/rules/${id}?try=1`).expect(200);
    const tp = await techAgent.get('/rules').expect(200);
    await techAgent.post('/rules').type('form').send({ ...rows, _csrf: csrfOf(tp.text), name: 'Sneaky' }).expect(403);
  });
});

describe('the scheduled sweep', () => {
  it('is a pg-boss schedule on a queue that runs one sweep at a time', async () => {
    const { startAutomationSweeps, AUTOMATION_QUEUE } = await import('../../src/jobs/automation.js');
    expect(await startAutomationSweeps(db.pool, db.prisma, 0)).toBeNull();
    const sweeps = await startAutomationSweeps(db.pool, db.prisma, 5);
    try {
      const { rows } = await db.pool.query(`SELECT s.cron, q.policy FROM pgboss.schedule s JOIN pgboss.queue q ON q.name = s.name WHERE s.name = $1`, [AUTOMATION_QUEUE]);
      expect(rows).toEqual([{ cron: '*/5 * * * *', policy: 'stately' }]);
    } finally {
      await sweeps!.stop();
    }
  });
});
