// "Try it": which open tickets a rule (as the form holds it, saved or not) would change, and why —
// writing nothing. The tickets are narrowed by an indexed query (active statuses, and the
// top-level "all" field conditions the database can check), newest first, then evaluated in
// memory like the engine does; bounded: DRY_RUN_MATCHES matches, DRY_RUN_SCAN tickets looked at.
import type { Prisma } from '../../generated/prisma/client.js';
import { ACTIVE_STATUSES } from '../../domain/status.js';
import type { TicketStatus } from '../../domain/enums.js';
import { ruleActor, type ServiceContext } from '../context.js';
import { assertCan } from '../policy.js';
import { evaluateConditions, needsCalendars, needsLatestMessage, type ConditionResult, type LeafCondition } from './conditions.js';
import { planActions, type ActionResult } from './actions.js';
import { loadSnapshots, withCalendars } from './engine.js';
import { namesFor, type RuleInput } from './rules.js';

export const DRY_RUN_MATCHES = 200;
export const DRY_RUN_SCAN = 5_000;
const BATCH = 500;

export interface DryRunLine {
  reference: string;
  title: string;
  conditions: ConditionResult[];
  actions: ActionResult[];
}

export interface DryRun {
  matches: DryRunLine[];
  scanned: number;
  /** More tickets were left unexamined (the bounds were reached). */
  truncated: boolean;
}

/** The part of the conditions the database can narrow by (top-level "all" only). */
function narrowing(input: RuleInput): Prisma.TicketWhereInput {
  const where: Prisma.TicketWhereInput = { status: { in: [...ACTIVE_STATUSES] } };
  if (input.conditions.type !== 'all') return where;
  const and: Prisma.TicketWhereInput[] = [];
  for (const c of input.conditions.conditions as LeafCondition[]) {
    if (c.type === 'field' && !c.negate) {
      if (c.field === 'urgency') and.push({ urgency: { in: c.values as never } });
      if (c.field === 'status') and.push({ status: { in: (c.values as TicketStatus[]).filter((s) => ACTIVE_STATUSES.includes(s)) } });
      if (c.field === 'channel') and.push({ channel: { in: c.values as never } });
      if (c.field === 'team') and.push({ teamId: { in: c.values as number[] } });
    }
    if (c.type === 'tag' && !c.negate) and.push({ tags: { has: c.value } });
  }
  return and.length ? { ...where, AND: and } : where;
}

export async function dryRunRule(ctx: ServiceContext, input: RuleInput, ruleId?: number): Promise<DryRun> {
  assertCan(ctx.actor, 'automation.read');
  const where = narrowing(input);
  const rule = { id: ruleId ?? 0, name: input.name || 'new rule', event: input.event, quietHours: input.quietHours, position: 0, conditions: input.conditions, actions: input.actions };
  const names = await namesFor(ctx.db, [rule]);
  const latest = needsLatestMessage(input.conditions);
  const cutoff = input.event === 'NO_UPDATE' && input.quietHours ? new Date(Date.now() - input.quietHours * 3_600_000) : null;
  const matches: DryRunLine[] = [];
  let scanned = 0;
  let after: number | undefined;
  for (;;) {
    const batch = await ctx.db.ticket.findMany({
      where: { ...where, ...(cutoff ? { updatedAt: { lte: cutoff } } : {}), ...(after ? { id: { lt: after } } : {}) },
      orderBy: { id: 'desc' },
      take: BATCH,
      select: { id: true },
    });
    if (batch.length === 0) return { matches, scanned, truncated: false };
    const snapshots = await loadSnapshots(ctx.db, batch.map((t) => t.id), latest);
    await withCalendars(ctx.db, snapshots.values(), needsCalendars(input.conditions));
    for (const { id } of batch) {
      scanned++;
      const s = snapshots.get(id);
      if (!s) continue;
      const evaluation = evaluateConditions(input.conditions, s, names);
      if (!evaluation.matched) continue;
      // What each action would do, read-only (the plan reads teams and people, writes nothing).
      const actions = await planActions(ctx.db, rule.id ? ruleActor(rule) : { system: 'rule', name: 'Rule: new rule' }, s.ticket, input.actions);
      matches.push({ reference: s.ticket.reference, title: s.ticket.title, conditions: evaluation.results, actions });
      if (matches.length >= DRY_RUN_MATCHES) return { matches, scanned, truncated: true };
    }
    if (scanned >= DRY_RUN_SCAN) return { matches, scanned, truncated: true };
    after = batch[batch.length - 1]!.id;
  }
}
