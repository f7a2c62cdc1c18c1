// What rules and macros do to a ticket: one executor for both. Each action is checked before it
// writes (a refusal is a ValidationError thrown before any write), so an action that cannot apply
// is reported — and the rest go on — without breaking the change that triggered a rule. Every
// change goes through changeTicket / appendWorkLog: history rows, notifications and events as for
// any other change, with the actor given (the rule, or the technician applying a macro).
import { z } from 'zod';
import type { Tx } from '../../db/client.js';
import type { Ticket } from '../../generated/prisma/client.js';
import { STATUS_LABEL, URGENCY_LABEL, URGENCIES, type TicketStatus, type Urgency } from '../../domain/enums.js';
import { canTransition, transitionRefusal } from '../../domain/status.js';
import { isSystemActor, type HistoryActor } from '../context.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { changeTicket, type TicketPatch } from '../tickets/history.js';
import { appendWorkLog } from '../tickets/add-work-log.js';
import { findAssignableUser } from '../tickets/rules.js';
import { queueTicketMail } from '../mail/outbox.js';
import { addFollowers } from '../notifications/notify.js';
import { announceToTeam, autoAssign } from '../tickets/auto-assign.js';
import { checkTemplate, fillTemplate, TEMPLATE_MAX, type TemplateValues } from './templates.js';
import { normalizeTag, TAG_MAX_COUNT } from '../tickets/tags.js';
import { attachRunbookInTx } from '../runbooks/ticket-runbooks.js';

/** Statuses an action may set (resolving needs a reason; closing and reopening are for people). */
export const ACTION_STATUSES = ['OPEN', 'IN_PROGRESS', 'WAITING_ON_CUSTOMER'] as const;
export const ACTIONS_MAX = 10;

const template = z.string().trim().min(1, 'Enter the text.').max(TEMPLATE_MAX, `At most ${TEMPLATE_MAX} characters.`);
const tag = z.string().trim().min(1, 'Enter a tag.').max(40, 'A tag is at most 40 characters.');

export const Action = z.discriminatedUnion('type', [
  z.object({ type: z.literal('setUrgency'), urgency: z.enum(URGENCIES as [Urgency, ...Urgency[]]) }),
  z.object({ type: z.literal('setTeam'), teamId: z.number().int().min(1) }),
  /** 'me': the technician applying a macro (refused in rules); null: nobody. */
  z.object({ type: z.literal('setOwner'), userId: z.union([z.number().int().min(1), z.literal('me'), z.null()]) }),
  z.object({ type: z.literal('setStatus'), status: z.enum(ACTION_STATUSES) }),
  z.object({ type: z.literal('addNote'), body: template }),
  z.object({ type: z.literal('sendReply'), body: template }),
  z.object({ type: z.literal('addTag'), tag }),
  z.object({ type: z.literal('removeTag'), tag }),
  /** A person follows the ticket ('me': the technician applying a macro). */
  z.object({ type: z.literal('follow'), userId: z.union([z.number().int().min(1), z.literal('me')]) }),
  /** Attach a published run book (its current version), by its id; its title kept for the words. */
  z.object({ type: z.literal('attachRunbook'), runbookId: z.number().int().min(1), runbookTitle: z.string().max(200) }),
]);
export type Action = z.infer<typeof Action>;
export const Actions = z.array(Action).max(ACTIONS_MAX, `At most ${ACTIONS_MAX} actions.`);

export interface ActionResult {
  action: string;
  ok: boolean;
  /** What it changed ("urgency: Normal → High"), or why it could not apply. */
  detail: string;
}

/** Names for ids in the words of an action. */
export interface ActionNames {
  team(id: number): string;
  user(id: number): string;
}

/** An action in words: "set urgency to High". */
export function describeAction(a: Action, names: ActionNames): string {
  switch (a.type) {
    case 'setUrgency':
      return `set urgency to ${URGENCY_LABEL[a.urgency]}`;
    case 'setTeam':
      return `move to team ${names.team(a.teamId)}`;
    case 'setOwner':
      return a.userId === null ? 'unassign' : a.userId === 'me' ? 'assign to me' : `assign to ${names.user(a.userId)}`;
    case 'setStatus':
      return `set status to ${STATUS_LABEL[a.status]}`;
    case 'addNote':
      return 'add an internal note';
    case 'sendReply':
      return 'reply to the customer';
    case 'addTag':
      return `add the tag ${normalizeTag(a.tag)}`;
    case 'removeTag':
      return `remove the tag ${normalizeTag(a.tag)}`;
    case 'follow':
      return a.userId === 'me' ? 'follow the ticket' : `make ${names.user(a.userId)} follow the ticket`;
    case 'attachRunbook':
      return `attach the run book ${a.runbookTitle}`;
  }
}

/** Checks what a form cannot: the templates' placeholders ('me' is for macros only). */
export function checkActions(actions: readonly Action[], opts: { forRule: boolean; field?: string }): void {
  actions.forEach((a, i) => {
    const field = `${opts.field ?? 'a'}${i}_value`;
    if ((a.type === 'addNote' || a.type === 'sendReply') && a.body) checkTemplate(a.body, field, 'The text');
    if (opts.forRule && (a.type === 'setOwner' || a.type === 'follow') && a.userId === 'me') {
      throw new ValidationError('A rule has no “me”: choose a person.', { [field]: 'Choose a person.' });
    }
  });
}

/** One action, checked: what it would do, and (unless it changes nothing) how to do it. */
interface Prepared {
  detail: string;
  /** The ticket as it would be after (for the dry run's next action). */
  after: Ticket;
  run?: () => Promise<Ticket>;
}

export interface ExecuteOptions {
  /** The person applying a macro ('me'); none for a rule. */
  me?: number | null;
}

/** The placeholders' values for a ticket (one query), the agent being `actor`. */
export async function templateValues(tx: Tx, ticket: Ticket, actor: HistoryActor): Promise<TemplateValues> {
  const row = await tx.ticket.findUnique({
    where: { id: ticket.id },
    select: { customer: { select: { name: true, email: true } }, team: { select: { name: true } }, assignee: { select: { name: true } } },
  });
  // A rule's reply is signed by the ticket's owner, or its team: never by the rule's name.
  const agent = isSystemActor(actor) ? (row?.assignee?.name ?? row?.team.name ?? '') : actor.name;
  return {
    customer: { name: row?.customer.name ?? '', email: row?.customer.email ?? '' },
    ticket: {
      reference: ticket.reference,
      title: ticket.title,
      status: STATUS_LABEL[ticket.status],
      urgency: URGENCY_LABEL[ticket.urgency],
      team: row?.team.name ?? '',
    },
    agent: { name: agent },
  };
}

async function prepare(tx: Tx, actor: HistoryActor, t: Ticket, a: Action, opts: ExecuteOptions): Promise<Prepared> {
  const change = (patch: TicketPatch, then?: (changed: Ticket) => Promise<Ticket>): Prepared => ({
    detail: '',
    after: { ...t, ...patch },
    run: async () => {
      const changed = await changeTicket(tx, actor, t, patch);
      return then ? then(changed) : changed;
    },
  });
  const person = (id: number | 'me'): number => {
    if (id !== 'me') return id;
    if (!opts.me) throw new ValidationError('A rule has no “me”.');
    return opts.me;
  };
  switch (a.type) {
    case 'setUrgency': {
      if (t.urgency === a.urgency) return { detail: `urgency is already ${URGENCY_LABEL[a.urgency]}`, after: t };
      return { ...change({ urgency: a.urgency }), detail: `urgency: ${URGENCY_LABEL[t.urgency]} → ${URGENCY_LABEL[a.urgency]}` };
    }
    case 'setTeam': {
      const team = await tx.team.findUnique({ where: { id: a.teamId }, select: { id: true, name: true } });
      if (!team) throw new ValidationError('That team no longer exists.');
      if (t.teamId === team.id) return { detail: `already in team ${team.name}`, after: t };
      const patch: TicketPatch = { teamId: team.id };
      let dropped = '';
      if (t.assigneeId !== null) {
        const stays = await tx.teamMember.findUnique({ where: { teamId_userId: { teamId: team.id, userId: t.assigneeId } } });
        if (!stays) {
          patch.assigneeId = null;
          dropped = ' (the owner is not in it: unassigned)';
        }
      }
      // Given an owner by the team's automatic assignment, or else announced to the team (as moveTicketToTeam).
      return { ...change(patch, async (moved) => announceToTeam(tx, actor, await autoAssign(tx, moved))), detail: `team → ${team.name}${dropped}` };
    }
    case 'setOwner': {
      if (a.userId === null) {
        if (t.assigneeId === null) return { detail: 'already unassigned', after: t };
        return { ...change({ assigneeId: null }), detail: 'owner → nobody' };
      }
      const user = await findAssignableUser(tx, person(a.userId), t.teamId);
      if (t.assigneeId === user.id) return { detail: `${user.name} already owns it`, after: t };
      const patch: TicketPatch = { assigneeId: user.id };
      if (t.status === 'NEW') patch.status = 'OPEN';
      return { ...change(patch), detail: `owner → ${user.name}` };
    }
    case 'setStatus': {
      const status: TicketStatus = a.status;
      if (t.status === status) return { detail: `status is already ${STATUS_LABEL[status]}`, after: t };
      if (!canTransition(t.status, status) || (t.status === 'RESOLVED' && status === 'OPEN')) {
        throw new ValidationError(transitionRefusal(t.status, status));
      }
      const patch: TicketPatch = { status };
      if (status === 'IN_PROGRESS' && t.assigneeId === null) {
        // Starting work makes the starter the owner: a rule is nobody, so it needs an owner already.
        if (isSystemActor(actor) || !opts.me) throw new ValidationError('Work can only start on a ticket with an owner.');
        await findAssignableUser(tx, opts.me, t.teamId);
        patch.assigneeId = opts.me;
      }
      const mail = status === 'WAITING_ON_CUSTOMER' ? async (c: Ticket) => (await queueTicketMail(tx, c, 'WAITING_ON_CUSTOMER'), c) : undefined;
      return { ...change(patch, mail), detail: `status: ${STATUS_LABEL[t.status]} → ${STATUS_LABEL[status]}` };
    }
    case 'addNote':
    case 'sendReply': {
      const values = await templateValues(tx, t, actor);
      const body = fillTemplate(a.body, values).trim();
      if (!body) throw new ValidationError('The text is empty once filled in.');
      const reply = a.type === 'sendReply';
      const short = body.length > 200 ? `${body.slice(0, 200)}…` : body;
      return {
        detail: reply ? `replies to ${values.customer.email}: “${short}”` : `adds a note: “${short}”`,
        after: t,
        run: async () => {
          const entry = await appendWorkLog(tx, actor, t, { kind: reply ? 'REPLY' : 'NOTE', body }, { mentions: !isSystemActor(actor) });
          if (reply) await queueTicketMail(tx, t, 'REPLY', { body: entry.body, author: values.agent.name });
          return t;
        },
      };
    }
    case 'addTag':
    case 'removeTag': {
      const value = normalizeTag(a.tag);
      const tags = t.tags ?? [];
      if (a.type === 'addTag') {
        if (tags.includes(value)) return { detail: `already tagged ${value}`, after: t };
        if (tags.length >= TAG_MAX_COUNT) throw new ValidationError(`A ticket has at most ${TAG_MAX_COUNT} tags.`);
        return { ...change({ tags: [...tags, value] }), detail: `tag + ${value}` };
      }
      if (!tags.includes(value)) return { detail: `has no tag ${value}`, after: t };
      return { ...change({ tags: tags.filter((x) => x !== value) }), detail: `tag − ${value}` };
    }
    case 'follow': {
      const id = person(a.userId);
      const user = await tx.user.findUnique({ where: { id }, select: { id: true, name: true, active: true } });
      if (!user?.active) throw new ValidationError('That person is not an active staff member.');
      return {
        detail: `${user.name} follows it`,
        after: t,
        run: async () => {
          await addFollowers(tx, t.id, [user.id]);
          return t;
        },
      };
    }
    case 'attachRunbook': {
      const rb = await tx.runbook.findUnique({ where: { id: a.runbookId }, select: { title: true, status: true } });
      if (!rb || rb.status !== 'PUBLISHED') throw new ValidationError(`The run book ${a.runbookTitle} is not published.`);
      return {
        detail: `run book ${rb.title} attached`,
        after: t,
        run: async () => {
          // By a rule (a system actor) or by the technician applying a macro.
          await attachRunbookInTx(tx, actor, t, a.runbookId, isSystemActor(actor) ? 'BY_RULE' : 'BY_HAND');
          return t;
        },
      };
    }
  }
}

const refused = (err: unknown): string | null =>
  err instanceof ValidationError || err instanceof ConflictError || err instanceof NotFoundError ? err.message : null;

/**
 * Applies the actions in order in the caller's transaction. An action that cannot apply is
 * reported (ok: false, with the reason) and the others go on; with `strict` (a macro: the
 * technician sees the refusal) the first refusal is thrown instead and the transaction rolls back.
 */
export async function executeActions(
  tx: Tx,
  actor: HistoryActor,
  ticket: Ticket,
  actions: readonly Action[],
  opts: ExecuteOptions & { strict?: boolean } = {},
): Promise<{ ticket: Ticket; results: ActionResult[] }> {
  let t = ticket;
  const results: ActionResult[] = [];
  for (const a of actions) {
    const action = a.type;
    try {
      const p = await prepare(tx, actor, t, a, opts);
      if (p.run) t = await p.run();
      results.push({ action, ok: true, detail: p.detail });
    } catch (err) {
      const reason = refused(err);
      if (reason === null || opts.strict) throw err;
      results.push({ action, ok: false, detail: reason });
    }
  }
  return { ticket: t, results };
}

/** What the actions would do to the ticket, in order, writing nothing (the dry run). */
export async function planActions(tx: Tx, actor: HistoryActor, ticket: Ticket, actions: readonly Action[]): Promise<ActionResult[]> {
  let t = ticket;
  const results: ActionResult[] = [];
  for (const a of actions) {
    try {
      const p = await prepare(tx, actor, t, a, {});
      t = p.after;
      results.push({ action: a.type, ok: true, detail: p.detail });
    } catch (err) {
      const reason = refused(err);
      if (reason === null) throw err;
      results.push({ action: a.type, ok: false, detail: reason });
    }
  }
  return results;
}
