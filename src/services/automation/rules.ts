// Automation rules as admins manage them (technicians read them): create, edit, activate or
// deactivate (never delete: history rows and work-log entries name them), reorder; every change in
// the rule's append-only history. The active rules are kept in memory for a few seconds (like the
// teams) so that evaluating them costs no query per rule per event.
import type { Db, Tx } from '../../db/client.js';
import type { AutomationRule } from '../../generated/prisma/client.js';
import type { RuleEvent } from '../../generated/prisma/enums.js';
import type { ServiceContext } from '../context.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { assertCan } from '../policy.js';
import { isUniqueViolation } from '../../db/errors.js';
import { ConditionGroup, describeCondition, type LeafCondition, type Names } from './conditions.js';
import { Action, Actions, checkActions, describeAction, type ActionNames } from './actions.js';
import { keptFor } from '../kept.js';
import { onCacheNotice } from '../cache-notices.js';

export const RULE_EVENTS = ['CREATED', 'UPDATED', 'CUSTOMER_REPLIED', 'SLA_WARNING', 'SLA_BREACH', 'NO_UPDATE'] as const satisfies readonly RuleEvent[];
export const RULE_EVENT_LABEL: Record<RuleEvent, string> = {
  CREATED: 'A ticket is created',
  UPDATED: 'A ticket is changed',
  CUSTOMER_REPLIED: 'The customer replies',
  SLA_WARNING: 'An SLA target is near its due time',
  SLA_BREACH: 'An SLA target is missed',
  NO_UPDATE: 'No update for some hours (checked periodically)',
};

/** A rule as the engine uses it: its conditions and actions parsed. */
export interface ParsedRule {
  id: number;
  name: string;
  event: RuleEvent;
  quietHours: number | null;
  position: number;
  conditions: ConditionGroup;
  actions: Action[];
}

export interface RuleInput {
  name: string;
  description: string | null;
  event: RuleEvent;
  quietHours: number | null;
  conditions: ConditionGroup;
  actions: Action[];
}

export function parseRule(r: Pick<AutomationRule, 'id' | 'name' | 'event' | 'quietHours' | 'position' | 'conditions' | 'actions'>): ParsedRule {
  return {
    id: r.id,
    name: r.name,
    event: r.event,
    quietHours: r.quietHours,
    position: r.position,
    conditions: ConditionGroup.parse(r.conditions),
    actions: Actions.parse(r.actions),
  };
}

// ---- the active rules, kept in memory ----

const RULES_TTL_MS = 10_000;
export interface ActiveRules {
  rules: ParsedRule[];
  names: Names & ActionNames;
}
/** One read for concurrent callers (a burst of new tickets after the copy expired); services/kept.ts. */
const kept = keptFor<ActiveRules, Db | Tx>(RULES_TTL_MS, loadRules);

/** Drops the kept rules (this process changed one; other instances see it within RULES_TTL_MS). */
export function invalidateRulesCache(): void {
  kept.drop();
}

onCacheNotice('rules', invalidateRulesCache);

/** Names of the teams, people and organizations the given rules mention (for their words). */
export async function namesFor(db: Db | Tx, rules: readonly ParsedRule[]): Promise<Names & ActionNames> {
  const users = new Set<number>();
  const orgs = new Set<number>();
  const visit = (c: LeafCondition) => {
    if (c.type === 'field' && c.field === 'owner') for (const v of c.values) if (typeof v === 'number') users.add(v);
    if (c.type === 'organization' && c.organizationId !== null) orgs.add(c.organizationId);
  };
  for (const r of rules) {
    for (const c of r.conditions.conditions) {
      if (c.type === 'all' || c.type === 'any') (c as { conditions: LeafCondition[] }).conditions.forEach(visit);
      else visit(c as LeafCondition);
    }
    for (const a of r.actions) if ((a.type === 'setOwner' || a.type === 'follow') && typeof a.userId === 'number') users.add(a.userId);
  }
  const [teams, people, organizations] = await Promise.all([
    db.team.findMany({ select: { id: true, name: true } }),
    users.size ? db.user.findMany({ where: { id: { in: [...users] } }, select: { id: true, name: true } }) : [],
    orgs.size ? db.organization.findMany({ where: { id: { in: [...orgs] } }, select: { id: true, name: true } }) : [],
  ]);
  const t = new Map(teams.map((x) => [x.id, x.name]));
  const u = new Map(people.map((x) => [x.id, x.name]));
  const o = new Map(organizations.map((x) => [x.id, x.name]));
  return {
    team: (id) => t.get(id) ?? `team #${id}`,
    user: (id) => u.get(id) ?? `person #${id}`,
    organization: (id) => o.get(id) ?? `organization #${id}`,
  };
}

/** The active rules in order (position, id), with the names their words need. Kept RULES_TTL_MS. */
export function activeRules(db: Db | Tx): Promise<ActiveRules> {
  return kept.get(db);
}

async function loadRules(db: Db | Tx): Promise<ActiveRules> {
  const rows = await db.automationRule.findMany({ where: { active: true }, orderBy: [{ position: 'asc' }, { id: 'asc' }] });
  const rules = rows.map(parseRule);
  return { rules, names: await namesFor(db, rules) };
}

// ---- managing rules ----

/** Checks what zod cannot: ids that exist, placeholders, the quiet period. */
async function checkInput(tx: Tx, input: RuleInput): Promise<void> {
  if (input.event === 'NO_UPDATE' && !input.quietHours) {
    throw new ValidationError('Say after how many hours without an update the rule applies.', { quietHours: 'Enter a number of hours.' });
  }
  checkActions(input.actions, { forRule: true });
  if (input.actions.length === 0) throw new ValidationError('A rule needs at least one action.', { a0_kind: 'Choose an action.' });
  const teamIds = input.actions.flatMap((a) => (a.type === 'setTeam' ? [a.teamId] : []));
  if (teamIds.length && (await tx.team.count({ where: { id: { in: teamIds } } })) !== new Set(teamIds).size) {
    throw new ValidationError('A team of the actions does not exist.');
  }
}

const inputData = (input: RuleInput) => ({
  name: input.name,
  description: input.description,
  event: input.event,
  quietHours: input.event === 'NO_UPDATE' ? input.quietHours : null,
  conditions: input.conditions,
  actions: input.actions,
});

const nameTaken = () => new ValidationError('Another rule has that name.', { name: 'Choose another name.' });

/** A new rule (inactive until switched on, after a dry run), last in the order. */
export async function createRule(ctx: ServiceContext, input: RuleInput): Promise<AutomationRule> {
  assertCan(ctx.actor, 'automation.manage');
  try {
    return await ctx.db.$transaction(async (tx) => {
      await checkInput(tx, input);
      const last = await tx.automationRule.aggregate({ _max: { position: true } });
      const rule = await tx.automationRule.create({
        data: { ...inputData(input), position: (last._max.position ?? 0) + 1, createdById: ctx.actor.id },
      });
      await tx.automationRuleHistory.create({ data: { ruleId: rule.id, actorId: ctx.actor.id, action: 'CREATED', newValue: rule.name } });
      return rule;
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw nameTaken();
    throw err;
  }
}

/** JSON with its keys sorted (jsonb keeps its own key order: a plain stringify would differ). */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Edits a rule from a form of `version`; a history row per changed field. */
export async function updateRule(ctx: ServiceContext, id: number, version: number, input: RuleInput): Promise<AutomationRule> {
  assertCan(ctx.actor, 'automation.manage');
  try {
    const rule = await ctx.db.$transaction(async (tx) => {
      const before = await tx.automationRule.findUnique({ where: { id } });
      if (!before) throw new NotFoundError('No such rule.');
      if (before.version !== version) throw new ConflictError('The rule was changed by someone else meanwhile.', before.version);
      await checkInput(tx, input);
      const data = inputData(input);
      const { count } = await tx.automationRule.updateMany({ where: { id, version }, data: { ...data, version: version + 1, updatedAt: new Date() } });
      if (count === 0) throw new ConflictError('The rule was changed by someone else meanwhile.');
      const rows: { field: string; oldValue: string | null; newValue: string | null }[] = [];
      const show = (v: unknown) => (v === null || v === undefined ? null : typeof v === 'object' ? canonical(v) : String(v));
      for (const field of ['name', 'description', 'event', 'quietHours', 'conditions', 'actions'] as const) {
        const a = show(before[field]);
        const b = show(data[field]);
        if (a !== b) rows.push({ field, oldValue: a, newValue: b });
      }
      if (rows.length) {
        await tx.automationRuleHistory.createMany({ data: rows.map((r) => ({ ...r, ruleId: id, actorId: ctx.actor.id, action: 'CHANGED' as const })) });
      }
      return tx.automationRule.findUniqueOrThrow({ where: { id } });
    });
    invalidateRulesCache();
    return rule;
  } catch (err) {
    if (isUniqueViolation(err)) throw nameTaken();
    throw err;
  }
}

/** Switch a rule on or off. */
export async function setRuleActive(ctx: ServiceContext, id: number, active: boolean): Promise<void> {
  assertCan(ctx.actor, 'automation.manage');
  await ctx.db.$transaction(async (tx) => {
    const rule = await tx.automationRule.findUnique({ where: { id } });
    if (!rule) throw new NotFoundError('No such rule.');
    if (rule.active === active) return;
    await tx.automationRule.update({ where: { id }, data: { active, version: { increment: 1 }, updatedAt: new Date() } });
    await tx.automationRuleHistory.create({ data: { ruleId: id, actorId: ctx.actor.id, action: active ? 'ACTIVATED' : 'DEACTIVATED' } });
  });
  invalidateRulesCache();
}

/** Move a rule one place earlier or later in the order (rules run in that order). */
export async function moveRule(ctx: ServiceContext, id: number, direction: 'up' | 'down'): Promise<void> {
  assertCan(ctx.actor, 'automation.manage');
  await ctx.db.$transaction(async (tx) => {
    // The order is rewritten as 1..n (a few dozen rows), under a lock so that two moves take turns.
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('caseboard.automation-order'))`;
    const rules = await tx.automationRule.findMany({ orderBy: [{ position: 'asc' }, { id: 'asc' }], select: { id: true, position: true } });
    const i = rules.findIndex((r) => r.id === id);
    if (i < 0) throw new NotFoundError('No such rule.');
    const j = direction === 'up' ? i - 1 : i + 1;
    if (j < 0 || j >= rules.length) return;
    [rules[i], rules[j]] = [rules[j]!, rules[i]!];
    for (const [n, r] of rules.entries()) {
      if (r.position !== n + 1) await tx.automationRule.update({ where: { id: r.id }, data: { position: n + 1 } });
    }
    await tx.automationRuleHistory.create({ data: { ruleId: id, actorId: ctx.actor.id, action: 'CHANGED', field: 'position', oldValue: String(i + 1), newValue: String(j + 1) } });
  });
  invalidateRulesCache();
}

// ---- reading ----

export interface RuleLine {
  id: number;
  name: string;
  event: RuleEvent;
  active: boolean;
  position: number;
  lastFiredAt: Date | null;
}

/** Every rule in order, with when it last fired (from its log, through its index). */
export async function listRules(ctx: ServiceContext): Promise<RuleLine[]> {
  assertCan(ctx.actor, 'automation.read');
  return ctx.db.$queryRaw<RuleLine[]>`
    SELECT r.id, r.name, r.event::text AS event, r.active, r.position,
           (SELECT l."createdAt" FROM "AutomationRuleLog" l WHERE l."ruleId" = r.id ORDER BY l."createdAt" DESC, l.id DESC LIMIT 1) AS "lastFiredAt"
      FROM "AutomationRule" r ORDER BY r.position, r.id`;
}

export const RULE_LOG_SHOWN = 100;

export async function getRulePage(ctx: ServiceContext, id: number) {
  assertCan(ctx.actor, 'automation.read');
  const rule = await ctx.db.automationRule.findUnique({
    where: { id },
    include: {
      createdBy: { select: { name: true } },
      history: { orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: 100, include: { actor: { select: { name: true } } } },
      log: {
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: RULE_LOG_SHOWN,
        include: { ticket: { select: { reference: true, title: true } } },
      },
    },
  });
  if (!rule) throw new NotFoundError('No such rule.');
  const parsed = parseRule(rule);
  const names = await namesFor(ctx.db, [parsed]);
  return {
    rule,
    parsed,
    conditionWords: parsed.conditions.conditions.map((c) =>
      c.type === 'all' || c.type === 'any'
        ? `${c.type} of: ${(c as { conditions: LeafCondition[] }).conditions.map((l) => describeCondition(l, names)).join('; ')}`
        : describeCondition(c as LeafCondition, names),
    ),
    actionWords: parsed.actions.map((a) => describeAction(a, names)),
  };
}
