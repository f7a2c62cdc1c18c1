// Macros (a named set of actions plus an optional reply template) and canned replies (named texts
// with placeholders). Personal ones belong to their owner; shared ones (ownerId null) are managed
// by admins and used by everyone. Applying a macro is one change: the technician's, through the
// same action executor as the rules, all or nothing, with a history row saying it was applied.
import type { Macro, CannedReply } from '../../generated/prisma/client.js';
import type { ServiceContext } from '../context.js';
import { ForbiddenError, NotFoundError, ValidationError } from '../errors.js';
import { assertCan, can } from '../policy.js';
import { mutateTicket, type TicketTarget } from '../tickets/mutate.js';
import { findTicketOrThrow } from '../tickets/rules.js';
import { Actions, checkActions, executeActions, templateValues, type Action, type ActionResult } from './actions.js';
import { checkTemplate, fillTemplate } from './templates.js';
import { keptFor } from '../kept.js';
import { onCacheNotice } from '../cache-notices.js';

/** Macros and canned replies listed at most (each list). */
export const MACROS_MAX = 200;

export interface MacroInput {
  name: string;
  shared: boolean;
  actions: Action[];
  reply: string | null;
}

export interface CannedInput {
  name: string;
  shared: boolean;
  body: string;
}

/** Personal ones by their owner; shared ones by admins (macro.shared). */
function assertMayManage(ctx: ServiceContext, ownerId: number | null): void {
  assertCan(ctx.actor, 'ticket.update');
  if (ownerId === null ? !can(ctx.actor, 'macro.shared') : ownerId !== ctx.actor.id) throw new ForbiddenError();
}

const visible = (ctx: ServiceContext) => ({ OR: [{ ownerId: null }, { ownerId: ctx.actor.id }] });

function checkMacro(input: MacroInput): void {
  if (input.actions.length === 0 && !input.reply) {
    throw new ValidationError('A macro needs an action or a reply.', { a0_kind: 'Choose an action, or write a reply.' });
  }
  checkActions(input.actions, { forRule: false });
  if (input.reply) checkTemplate(input.reply, 'reply', 'The reply');
}

export async function createMacro(ctx: ServiceContext, input: MacroInput): Promise<Macro> {
  const ownerId = input.shared ? null : ctx.actor.id;
  assertMayManage(ctx, ownerId);
  checkMacro(input);
  return changed(ctx.db.macro.create({ data: { name: input.name, ownerId, actions: input.actions, reply: input.reply } }));
}

async function findMacro(ctx: ServiceContext, id: number): Promise<Macro> {
  const macro = await ctx.db.macro.findFirst({ where: { id, ...visible(ctx) } });
  if (!macro) throw new NotFoundError('No such macro.');
  return macro;
}

export async function getMacro(ctx: ServiceContext, id: number) {
  assertCan(ctx.actor, 'ticket.read');
  const macro = await findMacro(ctx, id);
  return { macro, actions: Actions.parse(macro.actions), mayManage: macro.ownerId === null ? can(ctx.actor, 'macro.shared') : true };
}

export async function updateMacro(ctx: ServiceContext, id: number, input: MacroInput): Promise<Macro> {
  const macro = await findMacro(ctx, id);
  assertMayManage(ctx, macro.ownerId);
  // Sharing a personal one (or the reverse) is an admin's.
  const ownerId = input.shared ? null : (macro.ownerId ?? ctx.actor.id);
  assertMayManage(ctx, ownerId);
  checkMacro(input);
  return changed(ctx.db.macro.update({ where: { id }, data: { name: input.name, ownerId, actions: input.actions, reply: input.reply, updatedAt: new Date() } }));
}

export async function deleteMacro(ctx: ServiceContext, id: number): Promise<void> {
  const macro = await findMacro(ctx, id);
  assertMayManage(ctx, macro.ownerId);
  await changed(ctx.db.macro.delete({ where: { id } }));
}

/** The macros the user may apply: shared ones and their own, by name. */
/**
 * Every macro and canned reply, kept for a few seconds per process: the ticket page and the queue
 * show them on every view (a change made here drops the copy at once; another instance's is seen
 * within 10 s). Each person sees the shared ones and their own.
 */
const kept = keptFor(10_000, (db: ServiceContext['db']) => {
  const order = [{ name: 'asc' as const }, { id: 'asc' as const }];
  return Promise.all([db.macro.findMany({ orderBy: order, take: 10_000 }), db.cannedReply.findMany({ orderBy: order, take: 10_000 })]).then(
    ([macros, canned]) => ({ macros, canned }),
  );
});

onCacheNotice('macros', () => kept.drop());

/** A change to macros or canned replies, then the kept copy dropped (after the write: no stale re-read). */
async function changed<T>(write: Promise<T>): Promise<T> {
  const result = await write;
  kept.drop();
  return result;
}

const everyMacro = (db: ServiceContext['db']) => kept.get(db);

const mine = (ctx: ServiceContext) => (x: { ownerId: number | null }) => x.ownerId === null || x.ownerId === ctx.actor.id;

export async function listMacros(ctx: ServiceContext): Promise<Macro[]> {
  assertCan(ctx.actor, 'ticket.read');
  return (await everyMacro(ctx.db)).macros.filter(mine(ctx)).slice(0, MACROS_MAX);
}

/**
 * Applies a macro to a ticket from a form of `target.version`: its actions, then its reply, as
 * the technician, in one transaction (all or nothing: the first refusal rolls it back), and a
 * history row saying which macro was applied.
 */
export async function applyMacro(ctx: ServiceContext, target: TicketTarget, macroId: number) {
  assertCan(ctx.actor, 'ticket.update');
  assertCan(ctx.actor, 'ticket.worklog');
  const macro = await findMacro(ctx, macroId);
  const actions: Action[] = [...Actions.parse(macro.actions), ...(macro.reply ? [{ type: 'sendReply' as const, body: macro.reply }] : [])];
  return mutateTicket(ctx, 'ticket.update', target, async (tx, ticket) => {
    const started = new Date();
    const { ticket: after, results } = await executeActions(tx, ctx.actor, ticket, actions, { me: ctx.actor.id, strict: true });
    await tx.ticketHistory.create({
      data: {
        ticketId: ticket.id,
        actorId: ctx.actor.id,
        action: 'MACRO_APPLIED',
        field: 'macro',
        newValue: macro.name,
        newRefId: macro.id,
        ticketVersion: after.version,
        createdAt: new Date(),
      },
    });
    // Applied: the bulk result counts it as changed even when it only added an entry.
    return { ...after, updatedAt: after.updatedAt > started ? after.updatedAt : new Date(), results: results as ActionResult[] };
  });
}

// ---- canned replies ----

export async function createCannedReply(ctx: ServiceContext, input: CannedInput): Promise<CannedReply> {
  const ownerId = input.shared ? null : ctx.actor.id;
  assertMayManage(ctx, ownerId);
  checkTemplate(input.body, 'body', 'The text');
  return changed(ctx.db.cannedReply.create({ data: { name: input.name, ownerId, body: input.body } }));
}

async function findCanned(ctx: ServiceContext, id: number): Promise<CannedReply> {
  const canned = await ctx.db.cannedReply.findFirst({ where: { id, ...visible(ctx) } });
  if (!canned) throw new NotFoundError('No such canned reply.');
  return canned;
}

export async function getCannedReply(ctx: ServiceContext, id: number) {
  assertCan(ctx.actor, 'ticket.read');
  const canned = await findCanned(ctx, id);
  return { canned, mayManage: canned.ownerId === null ? can(ctx.actor, 'macro.shared') : true };
}

export async function updateCannedReply(ctx: ServiceContext, id: number, input: CannedInput): Promise<CannedReply> {
  const canned = await findCanned(ctx, id);
  assertMayManage(ctx, canned.ownerId);
  const ownerId = input.shared ? null : (canned.ownerId ?? ctx.actor.id);
  assertMayManage(ctx, ownerId);
  checkTemplate(input.body, 'body', 'The text');
  return changed(ctx.db.cannedReply.update({ where: { id }, data: { name: input.name, ownerId, body: input.body, updatedAt: new Date() } }));
}

export async function deleteCannedReply(ctx: ServiceContext, id: number): Promise<void> {
  const canned = await findCanned(ctx, id);
  assertMayManage(ctx, canned.ownerId);
  await changed(ctx.db.cannedReply.delete({ where: { id } }));
}

export async function listCannedReplies(ctx: ServiceContext): Promise<CannedReply[]> {
  assertCan(ctx.actor, 'ticket.read');
  return (await everyMacro(ctx.db)).canned.filter(mine(ctx)).slice(0, MACROS_MAX);
}

/** The canned replies with their placeholders filled for the ticket (the reply box's choices). */
export async function cannedRepliesFor(ctx: ServiceContext, reference: string): Promise<{ id: number; name: string; text: string }[]> {
  const list = await listCannedReplies(ctx);
  if (list.length === 0) return [];
  const ticket = await findTicketOrThrow(ctx.db, reference);
  const values = await templateValues(ctx.db, ticket, ctx.actor);
  return list.map((c) => ({ id: c.id, name: c.name, text: fillTemplate(c.body, values) }));
}
