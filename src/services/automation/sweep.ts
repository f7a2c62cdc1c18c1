// Time-based rules ("no update for N hours", on active tickets): a periodic sweep (a pg-boss
// scheduled job, src/jobs/automation.ts: one sweep at a time across instances) finds the quiet
// tickets with an indexed query (Ticket_status_updatedAt_id_idx) in bounded batches, and fires
// each rule at most once per ticket per quiet period: AutomationRuleFiring remembers the ticket's
// updatedAt it was evaluated for (matched or not), so the ticket is looked at again only after it
// is updated and quiet again. Each ticket in its own transaction (its changes' events settle there).
import type { Db } from '../../db/client.js';
import { ACTIVE_STATUSES } from '../../domain/status.js';
import { ticketTransaction } from '../tickets/events.js';
import { evaluateConditions, needsCalendars, needsLatestMessage } from './conditions.js';
import { fireRule, loadSnapshots, logFirings, withCalendars } from './engine.js';
import { activeRules, invalidateRulesCache } from './rules.js';
import { invalidateQueueCounts } from '../tickets/queue.js';
import { logError } from '../../log.js';

export const SWEEP_BATCH = 100;
/** Tickets looked at per rule per sweep; the rest wait for the next sweep. */
export const SWEEP_MAX_PER_RULE = 1_000;
/** Log rows kept per rule (older ones are pruned by the sweep). */
export const RULE_LOG_KEEP = 1_000;

export interface SweepResult {
  examined: number;
  fired: number;
  failed: number;
}

export async function runRuleSweep(db: Db, now = new Date()): Promise<SweepResult> {
  invalidateRulesCache();
  const { rules, names } = await activeRules(db);
  const result: SweepResult = { examined: 0, fired: 0, failed: 0 };
  for (const rule of rules) {
    if (rule.event !== 'NO_UPDATE' || !rule.quietHours) continue;
    const cutoff = new Date(now.getTime() - rule.quietHours * 3_600_000);
    let examined = 0;
    let cursor: { updatedAt: Date; id: number } | null = null;
    while (examined < SWEEP_MAX_PER_RULE) {
      // Quiet active tickets not yet evaluated for their current updatedAt, oldest first.
      const batch: { id: number; updatedAt: Date }[] = await db.$queryRaw`
        SELECT t.id, t."updatedAt" FROM "Ticket" t
         WHERE t.status::text = ANY(${[...ACTIVE_STATUSES]}::text[]) AND t."updatedAt" <= ${cutoff}
           AND (${cursor?.updatedAt ?? null}::timestamptz IS NULL
                OR (t."updatedAt", t.id) > (${cursor?.updatedAt ?? null}::timestamptz, ${cursor?.id ?? 0}::int))
           AND NOT EXISTS (SELECT 1 FROM "AutomationRuleFiring" f
                            WHERE f."ruleId" = ${rule.id}::int AND f."ticketId" = t.id AND f."ticketUpdatedAt" = t."updatedAt")
         ORDER BY t."updatedAt", t.id LIMIT ${SWEEP_BATCH}::int`;
      if (batch.length === 0) break;
      cursor = batch[batch.length - 1]!;
      for (const { id, updatedAt } of batch) {
        examined++;
        try {
          const fired = await ticketTransaction(db, async (tx) => {
            // Read again in the transaction: an update since makes it not quiet any more.
            const s = (await loadSnapshots(tx, [id], needsLatestMessage(rule.conditions))).get(id);
            if (s) await withCalendars(tx, [s], needsCalendars(rule.conditions));
            if (!s || s.ticket.updatedAt.getTime() !== updatedAt.getTime() || !ACTIVE_STATUSES.includes(s.ticket.status)) return false;
            await tx.automationRuleFiring.upsert({
              where: { ruleId_ticketId: { ruleId: rule.id, ticketId: id } },
              create: { ruleId: rule.id, ticketId: id, ticketUpdatedAt: updatedAt },
              update: { ticketUpdatedAt: updatedAt },
            });
            const evaluation = evaluateConditions(rule.conditions, s, names);
            if (!evaluation.matched) return false;
            const { results } = await fireRule(tx, rule, s.ticket);
            await logFirings(tx, [{ ruleId: rule.id, ticketId: id, event: 'NO_UPDATE', matched: true, conditions: evaluation.results, actions: results, note: null }]);
            return true;
          }, { timeout: 30_000 });
          if (fired) result.fired++;
        } catch (err) {
          // One ticket's failure (a conflict with a person's change) does not stop the sweep.
          result.failed++;
          logError(`[automation] rule ${rule.id} on ticket ${id}:`, (err as Error).message);
        }
      }
    }
    result.examined += examined;
  }
  if (result.fired) invalidateQueueCounts();
  await pruneRuleLog(db);
  return result;
}

/** Keeps the newest RULE_LOG_KEEP log rows of each rule. */
export async function pruneRuleLog(db: Db): Promise<number> {
  return db.$executeRaw`
    DELETE FROM "AutomationRuleLog" l USING (
      SELECT r.id, (SELECT x."createdAt" FROM "AutomationRuleLog" x WHERE x."ruleId" = r.id
                     ORDER BY x."createdAt" DESC, x.id DESC OFFSET ${RULE_LOG_KEEP}::int LIMIT 1) AS edge
        FROM "AutomationRule" r) k
     WHERE l."ruleId" = k.id AND k.edge IS NOT NULL AND l."createdAt" <= k.edge`;
}
