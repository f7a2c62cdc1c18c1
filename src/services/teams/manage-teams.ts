import type { Tx } from '../../db/client.js';
import { isUniqueViolation } from '../../db/errors.js';
import type { Team } from '../../generated/prisma/client.js';
import type { AutoAssignMode } from '../../generated/prisma/enums.js';
import type { ServiceContext } from '../context.js';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../errors.js';
import { assertCan, can } from '../policy.js';
import { invalidateStaffCache } from '../users/list-users.js';
import { invalidateTeamsCache } from './teams.js';
import { findAssignableUser } from '../tickets/rules.js';

export interface TeamInput {
  name: string;
  description?: string | null;
  autoAssign: AutoAssignMode;
  /** Null: no cap. */
  maxOpenPerPerson: number | null;
  /** Mail delivered to this address opens its tickets in the team (null: none). */
  address?: string | null;
  /** Make it the default team (where new tickets go). The default cannot be un-set, only moved. */
  isDefault?: boolean;
  /** Who an SLA breach escalates the team's tickets to: an active member (null: nobody; undefined: unchanged). */
  leadId?: number | null;
}

const TRACKED = ['name', 'description', 'autoAssign', 'maxOpenPerPerson', 'isDefault', 'address', 'leadId'] as const;
const show = (v: unknown) => (v === null || v === undefined ? null : String(v));

/** A unique violation on a team: its name, or its address, is another team's. */
function taken(err: unknown, name: string): ValidationError {
  if (String((err as { message?: unknown }).message ?? '').includes('address')) {
    return new ValidationError('Another team receives mail at that address.', { address: 'Choose another address.' });
  }
  return new ValidationError(`A team named “${name}” exists already.`, { name: 'Choose another name.' });
}

const cleanAddress = (address: string | null | undefined) => address?.trim().toLowerCase() || null;

function cleanName(name: string): string {
  const trimmed = name.trim().replace(/\s+/g, ' ');
  if (!trimmed) throw new ValidationError('A team needs a name.', { name: 'A name is required.' });
  return trimmed;
}

/** Create a team (admins). Nobody is in it yet; automatic assignment as given (off by default). */
export async function createTeam(ctx: ServiceContext, input: TeamInput): Promise<Team> {
  assertCan(ctx.actor, 'team.manage');
  const name = cleanName(input.name);
  try {
    const team = await ctx.db.$transaction(async (tx) => {
      if (input.isDefault) await tx.team.updateMany({ where: { isDefault: true }, data: { isDefault: false } });
      const created = await tx.team.create({
        data: {
          name,
          description: input.description?.trim() || null,
          autoAssign: input.autoAssign,
          maxOpenPerPerson: input.maxOpenPerPerson,
          isDefault: input.isDefault ?? false,
          address: cleanAddress(input.address),
        },
      });
      await tx.teamHistory.create({
        data: {
          teamId: created.id,
          actorId: ctx.actor.id,
          action: 'CREATED',
          newValue: JSON.stringify({ name, autoAssign: input.autoAssign, maxOpenPerPerson: input.maxOpenPerPerson }),
        },
      });
      return created;
    });
    invalidateTeamsCache();
    return team;
  } catch (err) {
    if (isUniqueViolation(err)) throw taken(err, name);
    throw err;
  }
}

/** Edit a team's name, description and automatic assignment, at the version the form showed. */
export async function updateTeam(ctx: ServiceContext, teamId: number, version: number, input: TeamInput): Promise<Team> {
  assertCan(ctx.actor, 'team.manage');
  const name = cleanName(input.name);
  try {
    const team = await ctx.db.$transaction(async (tx) => {
      const team = await lockTeam(tx, teamId);
      if (team.version !== version) throw new ConflictError(`The team ${team.name} was changed by someone else meanwhile.`, team.version);
      if (team.isDefault && input.isDefault === false) {
        throw new ValidationError('One team is always the default: make another team the default instead.', {
          isDefault: 'Make another team the default.',
        });
      }
      const patch = {
        name,
        description: input.description?.trim() || null,
        autoAssign: input.autoAssign,
        maxOpenPerPerson: input.maxOpenPerPerson,
        isDefault: input.isDefault ?? team.isDefault,
        address: input.address === undefined ? team.address : cleanAddress(input.address),
        leadId: input.leadId === undefined ? team.leadId : input.leadId,
      };
      // The lead is an active member of the team (the SLA hands tickets to them).
      const lead = patch.leadId !== null && patch.leadId !== team.leadId ? await findAssignableUser(tx, patch.leadId, team.id, 'leadId') : null;
      const leadName = async (id: number | null) =>
        id === null ? null : id === lead?.id ? lead.name : ((await tx.user.findUnique({ where: { id }, select: { name: true } }))?.name ?? String(id));
      const changed = TRACKED.filter((f) => show(patch[f]) !== show(team[f]));
      if (changed.length === 0) return team;
      if (patch.isDefault && !team.isDefault) {
        const previous = await tx.team.findFirst({ where: { isDefault: true } });
        if (previous) {
          await tx.team.update({ where: { id: previous.id }, data: { isDefault: false, version: { increment: 1 }, updatedAt: new Date() } });
          await tx.teamHistory.create({
            data: { teamId: previous.id, actorId: ctx.actor.id, action: 'CHANGED', field: 'isDefault', oldValue: 'true', newValue: 'false' },
          });
        }
      }
      const [oldLead, newLead] = changed.includes('leadId') ? await Promise.all([leadName(team.leadId), leadName(patch.leadId)]) : [null, null];
      const updated = await tx.team.update({ where: { id: team.id }, data: { ...patch, version: team.version + 1, updatedAt: new Date() } });
      await tx.teamHistory.createMany({
        data: changed.map((field) => ({
          teamId: team.id,
          actorId: ctx.actor.id,
          action: 'CHANGED' as const,
          field,
          // The lead by name, as people read it.
          oldValue: field === 'leadId' ? oldLead : show(team[field]),
          newValue: field === 'leadId' ? newLead : show(patch[field]),
        })),
      });
      return updated;
    });
    invalidateTeamsCache();
    return team;
  } catch (err) {
    if (isUniqueViolation(err)) throw taken(err, name);
    throw err;
  }
}

/**
 * The team's row, locked for the rest of the transaction: membership changes and automatic
 * assignment of one team take turns (auto-assign.ts), whichever instance runs them. FOR NO KEY
 * UPDATE, not FOR UPDATE: a ticket inserted into the team holds a KEY SHARE lock on the row
 * (its foreign key) until its transaction ends, which FOR UPDATE would wait for — two tickets
 * created at once in one team would deadlock.
 */
export async function lockTeam(tx: Tx, teamId: number): Promise<Team> {
  const [team] = await tx.$queryRaw<Team[]>`SELECT * FROM "Team" WHERE id = ${teamId} FOR NO KEY UPDATE`;
  if (!team) throw new NotFoundError('No such team.');
  return team;
}

/** Put an active staff member in a team (admins); recorded in the team's history. */
export async function addTeamMember(ctx: ServiceContext, teamId: number, userId: number): Promise<void> {
  assertCan(ctx.actor, 'team.manage');
  await ctx.db.$transaction(async (tx) => {
    await lockTeam(tx, teamId);
    const user = await tx.user.findUnique({ where: { id: userId } });
    if (!user) throw new ValidationError('That person does not exist.', { userId: 'Choose someone from the list.' });
    if (!user.active) throw new ValidationError(`${user.name} is deactivated.`, { userId: 'Choose an active person.' });
    if (user.kind !== 'PERSON') throw new ValidationError(`${user.name} is a service account: programs are in no team.`, { userId: 'Choose a person.' });
    const { count } = await tx.teamMember.createMany({ data: [{ teamId, userId }], skipDuplicates: true });
    if (count === 0) return;
    await tx.teamHistory.create({
      data: { teamId, actorId: ctx.actor.id, action: 'MEMBER_ADDED', refId: user.id, newValue: user.name },
    });
  });
  invalidateTeamsCache();
  invalidateStaffCache();
}

/**
 * Take a member out of a team (admins). Refused while they own open tickets of the team: a
 * ticket's owner is a member of its team, so those are handed on first (the message says how many).
 */
export async function removeTeamMember(ctx: ServiceContext, teamId: number, userId: number): Promise<void> {
  assertCan(ctx.actor, 'team.manage');
  await ctx.db.$transaction(async (tx) => {
    const team = await lockTeam(tx, teamId);
    const member = await tx.teamMember.findUnique({ where: { teamId_userId: { teamId, userId } }, include: { user: true } });
    if (!member) return;
    const open = await tx.ticket.count({ where: { teamId, assigneeId: userId, status: { notIn: ['RESOLVED', 'CLOSED'] } } });
    if (open > 0) {
      throw new ValidationError(
        `${member.user.name} owns ${open} open ticket${open === 1 ? '' : 's'} of ${team.name}: hand ${open === 1 ? 'it' : 'them'} on first.`,
      );
    }
    await tx.teamMember.delete({ where: { teamId_userId: { teamId, userId } } });
    if (team.lastAssignedUserId === userId) await tx.team.update({ where: { id: teamId }, data: { lastAssignedUserId: null } });
    await tx.teamHistory.create({
      data: { teamId, actorId: ctx.actor.id, action: 'MEMBER_REMOVED', refId: userId, oldValue: member.user.name },
    });
  });
  invalidateTeamsCache();
  invalidateStaffCache();
}

/**
 * Whether a person takes automatically assigned tickets now. Anyone sets their own; admins set
 * anyone's. Recorded in the user's history.
 */
export async function setAvailability(ctx: ServiceContext, userId: number, available: boolean): Promise<void> {
  if (userId !== ctx.actor.id && !can(ctx.actor, 'team.manage')) throw new ForbiddenError();
  await ctx.db.$transaction(async (tx) => {
    const user = await tx.user.findUnique({ where: { id: userId } });
    if (!user) throw new NotFoundError('No such user.');
    if (user.available === available) return;
    await tx.user.update({ where: { id: userId }, data: { available } });
    await tx.userHistory.create({
      data: { userId, actorId: ctx.actor.id, action: 'CHANGED', field: 'available', oldValue: String(user.available), newValue: String(available) },
    });
  });
}

/**
 * A new staff member joins the default team (so that they can be given tickets at once), in the
 * transaction that creates them. `actorId` null: the system (the first admin at first start).
 */
export async function joinDefaultTeam(tx: Tx, user: { id: number; name: string }, actorId: number | null): Promise<void> {
  const team = await tx.team.findFirst({ where: { isDefault: true }, select: { id: true } });
  if (!team) return;
  await tx.teamMember.create({ data: { teamId: team.id, userId: user.id } });
  await tx.teamHistory.create({ data: { teamId: team.id, actorId, action: 'MEMBER_ADDED', refId: user.id, newValue: user.name } });
  invalidateTeamsCache();
}
