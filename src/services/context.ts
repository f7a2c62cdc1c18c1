import type { Db } from '../db/client.js';
import type { Role } from '../domain/enums.js';

/** Who is acting: the signed-in staff member, as kept in their session. */
export interface Actor {
  id: number;
  role: Role;
  name: string;
  email: string;
  /**
   * Acting through the REST API: the token used (history and work-log rows record it beside the
   * user, "Ann Lee · API token “deploy script”"), and what it may do (src/services/api/scopes.ts).
   */
  token?: { id: number; name: string; scopes: readonly string[] };
}

/**
 * A customer acting on their own ticket (status page with a private link, web form, email).
 * They never sign in: the service that accepts their action has already proved who they are.
 */
export interface CustomerActor {
  customerId: number;
  name: string;
  email: string;
}

/**
 * Caseboard itself, acting by a rule nobody applied by hand (automatic assignment; later SLA and
 * automation jobs): history names the rule, never a person.
 */
export interface SystemActor {
  system: SystemActorKey;
  name: string;
  /** An automation rule (system 'rule'): history rows and work-log entries link to it. */
  ruleId?: number;
}

/** The rules that act on their own, as history records them (TicketHistory.actorSystem). */
export const SYSTEM_ACTORS = {
  'auto-assignment': 'Automatic assignment',
  sla: 'SLA',
  /** An automation rule (services/automation): named "Rule: <its name>", with its id. */
  rule: 'Rule',
  // A run book step's outside automation answering (src/services/runbooks/automation.ts).
  automation: 'Run book automation',
} as const;
export type SystemActorKey = keyof typeof SYSTEM_ACTORS;

export const systemActor = (key: SystemActorKey): SystemActor => ({ system: key, name: SYSTEM_ACTORS[key] });

/** An automation rule acting: "Rule: VIP customers → High". */
export const ruleActor = (rule: { id: number; name: string }): SystemActor => ({ system: 'rule', name: `Rule: ${rule.name}`, ruleId: rule.id });

/** Whoever a history row or work-log entry is written by. */
export type AnyActor = Actor | CustomerActor;
/** Whoever a ticket's history row is written by. */
export type HistoryActor = AnyActor | SystemActor;

export const isCustomerActor = (actor: HistoryActor): actor is CustomerActor => 'customerId' in actor;
export const isSystemActor = (actor: HistoryActor): actor is SystemActor => 'system' in actor;

/** The history columns naming the actor (a CHECK constraint insists on exactly one). */
export function actorColumns(actor: AnyActor): { actorId: number | null; actorCustomerId: number | null } {
  return isCustomerActor(actor)
    ? { actorId: null, actorCustomerId: actor.customerId }
    : { actorId: actor.id, actorCustomerId: null };
}

/** The ticket-history columns naming the actor, a system rule included. */
export function historyActorColumns(actor: HistoryActor): {
  actorId: number | null;
  actorCustomerId: number | null;
  actorSystem: string | null;
  actorRuleId: number | null;
  apiTokenId: number | null;
} {
  if (isSystemActor(actor)) return { actorId: null, actorCustomerId: null, actorSystem: actor.system, actorRuleId: actor.ruleId ?? null, apiTokenId: null };
  return { ...actorColumns(actor), actorSystem: null, actorRuleId: null, apiTokenId: isCustomerActor(actor) ? null : (actor.token?.id ?? null) };
}

/** The work-log columns naming the author (a CHECK constraint insists on exactly one of the first three). */
export function authorColumns(actor: HistoryActor): {
  authorId: number | null;
  authorCustomerId: number | null;
  authorSystem: string | null;
  authorRuleId: number | null;
  apiTokenId: number | null;
} {
  const { actorId, actorCustomerId, actorSystem, actorRuleId, apiTokenId } = historyActorColumns(actor);
  return { authorId: actorId, authorCustomerId: actorCustomerId, authorSystem: actorSystem, authorRuleId: actorRuleId, apiTokenId };
}

/** What every service function receives: the database and the acting user. */
export interface ServiceContext {
  db: Db;
  actor: Actor;
}
