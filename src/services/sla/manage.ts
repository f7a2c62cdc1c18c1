// Admins set up business calendars (working hours, holidays) and SLA policies. Every change is an
// SlaHistory row in its transaction; afterwards the open tickets' due times are recomputed by the
// SLA job in batches (a policy may now apply to tickets it did not, or with other targets).
import type { Db, Tx } from '../../db/client.js';
import { isUniqueViolation } from '../../db/errors.js';
import { checkCalendar, type Calendar, type OpenSpan, type Weekday } from '../../domain/business-hours.js';
import type { Channel, Urgency } from '../../domain/enums.js';
import type { Prisma } from '../../generated/prisma/client.js';
import type { ServiceContext } from '../context.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { assertCan } from '../policy.js';
import { invalidateSlaSettings, type PolicyTargets } from './policies.js';
import { queueSlaSweep } from './sweep.js';

export interface CalendarInput {
  name: string;
  timeZone: string;
  hours: Record<Weekday, OpenSpan[]>;
}

export interface HolidayInput {
  /** 'YYYY-MM-DD' */
  date: string;
  name: string;
}

export interface PolicyInput {
  name: string;
  position: number;
  isDefault: boolean;
  active: boolean;
  calendarId: number | null;
  matchUrgencies: Urgency[];
  matchChannels: Channel[];
  matchTeamId: number | null;
  matchOrganizationId: number | null;
  warnPercent: number;
  escalateUrgency: boolean;
  escalateToLead: boolean;
  targets: Partial<Record<Urgency, PolicyTargets>>;
}

async function record(tx: Tx, subject: 'calendar' | 'policy', subjectId: number, action: string, actorId: number, detail: unknown) {
  await tx.slaHistory.create({ data: { subject, subjectId, action, actorId, detail: detail as Prisma.InputJsonValue } });
}

/** After a change committed: the settings read again here at once, the open tickets recomputed. */
async function changed(db: Db): Promise<void> {
  invalidateSlaSettings();
  await queueSlaSweep(db);
}

function checkedCalendar(input: CalendarInput): CalendarInput {
  const name = input.name.trim();
  if (!name) throw new ValidationError('Give the calendar a name.', { name: 'Required.' });
  if (name.length > 80) throw new ValidationError('The name is too long (at most 80 characters).', { name: 'Shorten it.' });
  const problem = checkCalendar({ timeZone: input.timeZone, hours: input.hours, holidays: [] } satisfies Calendar);
  if (problem) throw new ValidationError(`These working hours cannot be used: ${problem}`, { hours: problem });
  return { ...input, name };
}

function nameTaken(what: string, name: string): ValidationError {
  return new ValidationError(`There is already a ${what} named ${name}.`, { name: 'Choose another name.' });
}

/** Add a business calendar (admins). */
export async function createCalendar(ctx: ServiceContext, input: CalendarInput) {
  assertCan(ctx.actor, 'sla.manage');
  const c = checkedCalendar(input);
  try {
    const calendar = await ctx.db.$transaction(async (tx) => {
      const created = await tx.businessCalendar.create({ data: { name: c.name, timeZone: c.timeZone, hours: c.hours as unknown as Prisma.InputJsonValue } });
      await record(tx, 'calendar', created.id, 'CREATED', ctx.actor.id, c);
      return created;
    });
    invalidateSlaSettings();
    return calendar;
  } catch (err) {
    if (isUniqueViolation(err)) throw nameTaken('calendar', c.name);
    throw err;
  }
}

/** Change a calendar's name, zone or hours (admins); a form from an older version is refused. */
export async function updateCalendar(ctx: ServiceContext, id: number, version: number, input: CalendarInput) {
  assertCan(ctx.actor, 'sla.manage');
  const c = checkedCalendar(input);
  try {
    await ctx.db.$transaction(async (tx) => {
      const { count } = await tx.businessCalendar.updateMany({
        where: { id, version },
        data: { name: c.name, timeZone: c.timeZone, hours: c.hours as unknown as Prisma.InputJsonValue, version: { increment: 1 }, updatedAt: new Date() },
      });
      if (count === 0) {
        if (!(await tx.businessCalendar.findUnique({ where: { id } }))) throw new NotFoundError('That calendar does not exist.');
        throw new ConflictError('Someone changed this calendar meanwhile: look at it again and redo your change.');
      }
      await record(tx, 'calendar', id, 'CHANGED', ctx.actor.id, c);
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw nameTaken('calendar', c.name);
    throw err;
  }
  await changed(ctx.db);
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Close a calendar for a day (admins). */
export async function addHoliday(ctx: ServiceContext, calendarId: number, input: HolidayInput) {
  assertCan(ctx.actor, 'sla.manage');
  const name = input.name.trim();
  const m = DATE.exec(input.date.trim());
  const date = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
  if (!date || date.toISOString().slice(0, 10) !== input.date.trim() || date.getUTCFullYear() < 2000 || date.getUTCFullYear() > 2200) {
    throw new ValidationError('Give the holiday a date (a day between 2000 and 2200).', { date: 'Pick a day.' });
  }
  if (!name || name.length > 120) throw new ValidationError('Name the holiday (at most 120 characters).', { holidayName: 'Required.' });
  try {
    await ctx.db.$transaction(async (tx) => {
      if (!(await tx.businessCalendar.findUnique({ where: { id: calendarId } }))) throw new NotFoundError('That calendar does not exist.');
      await tx.calendarHoliday.create({ data: { calendarId, date, name } });
      await record(tx, 'calendar', calendarId, 'HOLIDAY_ADDED', ctx.actor.id, { date: input.date.trim(), name });
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new ValidationError(`${input.date.trim()} is already a holiday in this calendar.`, { date: 'Pick another day.' });
    throw err;
  }
  await changed(ctx.db);
}

/** Open a calendar again on a holiday (admins). */
export async function removeHoliday(ctx: ServiceContext, calendarId: number, holidayId: number) {
  assertCan(ctx.actor, 'sla.manage');
  await ctx.db.$transaction(async (tx) => {
    const holiday = await tx.calendarHoliday.findFirst({ where: { id: holidayId, calendarId } });
    if (!holiday) throw new NotFoundError('That holiday does not exist.');
    await tx.calendarHoliday.delete({ where: { id: holidayId } });
    await record(tx, 'calendar', calendarId, 'HOLIDAY_REMOVED', ctx.actor.id, { date: holiday.date.toISOString().slice(0, 10), name: holiday.name });
  });
  await changed(ctx.db);
}

async function checkedPolicy(db: Db | Tx, input: PolicyInput): Promise<PolicyInput> {
  const name = input.name.trim();
  if (!name) throw new ValidationError('Give the policy a name.', { name: 'Required.' });
  if (name.length > 80) throw new ValidationError('The name is too long (at most 80 characters).', { name: 'Shorten it.' });
  if (!Number.isInteger(input.warnPercent) || input.warnPercent < 1 || input.warnPercent > 99) {
    throw new ValidationError('The warning comes when 1 to 99 percent of a target is used.', { warnPercent: 'Between 1 and 99.' });
  }
  const hasTarget = Object.values(input.targets).some((t) => t && (t.firstResponseMinutes || t.nextResponseMinutes || t.resolutionMinutes));
  if (!hasTarget) throw new ValidationError('Set at least one target (for one urgency).', { targets: 'Set a target.' });
  if (input.calendarId !== null && !(await db.businessCalendar.findUnique({ where: { id: input.calendarId } }))) {
    throw new ValidationError('That calendar does not exist.', { calendarId: 'Choose a calendar from the list.' });
  }
  if (input.matchTeamId !== null && !(await db.team.findUnique({ where: { id: input.matchTeamId } }))) {
    throw new ValidationError('That team does not exist.', { matchTeamId: 'Choose a team from the list.' });
  }
  if (input.matchOrganizationId !== null && !(await db.organization.findUnique({ where: { id: input.matchOrganizationId } }))) {
    throw new ValidationError('That organization does not exist.', { matchOrganizationId: 'Choose an organization from the list.' });
  }
  return { ...input, name };
}

const policyData = (p: PolicyInput) => ({
  name: p.name,
  position: p.position,
  isDefault: p.isDefault,
  active: p.active,
  calendarId: p.calendarId,
  matchUrgencies: p.matchUrgencies,
  matchChannels: p.matchChannels,
  matchTeamId: p.matchTeamId,
  matchOrganizationId: p.matchOrganizationId,
  warnPercent: p.warnPercent,
  escalateUrgency: p.escalateUrgency,
  escalateToLead: p.escalateToLead,
});

const targetRows = (p: PolicyInput) =>
  Object.entries(p.targets)
    .filter(([, t]) => t && (t.firstResponseMinutes || t.nextResponseMinutes || t.resolutionMinutes))
    .map(([urgency, t]) => ({ urgency: urgency as Urgency, ...t! }));

/** The default policy is one at most: making this one the default takes it from the other. */
async function takeDefault(tx: Tx, p: PolicyInput, id: number | null) {
  if (p.isDefault) await tx.slaPolicy.updateMany({ where: { isDefault: true, ...(id ? { NOT: { id } } : {}) }, data: { isDefault: false, version: { increment: 1 } } });
}

/** Add an SLA policy (admins). */
export async function createPolicy(ctx: ServiceContext, input: PolicyInput) {
  assertCan(ctx.actor, 'sla.manage');
  const p = await checkedPolicy(ctx.db, input);
  try {
    const policy = await ctx.db.$transaction(async (tx) => {
      await takeDefault(tx, p, null);
      const created = await tx.slaPolicy.create({ data: { ...policyData(p), targets: { create: targetRows(p) } } });
      await record(tx, 'policy', created.id, 'CREATED', ctx.actor.id, p);
      return created;
    });
    await changed(ctx.db);
    return policy;
  } catch (err) {
    if (isUniqueViolation(err)) throw nameTaken('policy', p.name);
    throw err;
  }
}

/** Change a policy (admins); a form from an older version is refused. */
export async function updatePolicy(ctx: ServiceContext, id: number, version: number, input: PolicyInput) {
  assertCan(ctx.actor, 'sla.manage');
  const p = await checkedPolicy(ctx.db, input);
  try {
    await ctx.db.$transaction(async (tx) => {
      await takeDefault(tx, p, id);
      const { count } = await tx.slaPolicy.updateMany({
        where: { id, version },
        data: { ...policyData(p), version: { increment: 1 }, updatedAt: new Date() },
      });
      if (count === 0) {
        if (!(await tx.slaPolicy.findUnique({ where: { id } }))) throw new NotFoundError('That policy does not exist.');
        throw new ConflictError('Someone changed this policy meanwhile: look at it again and redo your change.');
      }
      await tx.slaTarget.deleteMany({ where: { policyId: id } });
      await tx.slaTarget.createMany({ data: targetRows(p).map((t) => ({ ...t, policyId: id })) });
      await record(tx, 'policy', id, 'CHANGED', ctx.actor.id, p);
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw nameTaken('policy', p.name);
    throw err;
  }
  await changed(ctx.db);
}

/** Calendars and policies for the settings pages. */
export async function listSlaSettings(ctx: ServiceContext) {
  assertCan(ctx.actor, 'sla.read');
  const [calendars, policies] = await Promise.all([
    ctx.db.businessCalendar.findMany({ orderBy: { name: 'asc' }, include: { _count: { select: { holidays: true, policies: true } } } }),
    ctx.db.slaPolicy.findMany({
      orderBy: [{ isDefault: 'asc' }, { position: 'asc' }, { id: 'asc' }],
      include: { targets: true, calendar: { select: { name: true } }, matchTeam: { select: { name: true } }, matchOrganization: { select: { name: true } } },
    }),
  ]);
  return { calendars, policies };
}

export async function getCalendar(ctx: ServiceContext, id: number) {
  assertCan(ctx.actor, 'sla.read');
  const calendar = await ctx.db.businessCalendar.findUnique({ where: { id }, include: { holidays: { orderBy: { date: 'asc' } } } });
  if (!calendar) throw new NotFoundError('That calendar does not exist.');
  const history = await ctx.db.slaHistory.findMany({
    where: { subject: 'calendar', subjectId: id },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: 50,
    include: { actor: { select: { name: true } } },
  });
  return { calendar, history };
}

export async function getPolicy(ctx: ServiceContext, id: number) {
  assertCan(ctx.actor, 'sla.read');
  const policy = await ctx.db.slaPolicy.findUnique({ where: { id }, include: { targets: true } });
  if (!policy) throw new NotFoundError('That policy does not exist.');
  const history = await ctx.db.slaHistory.findMany({
    where: { subject: 'policy', subjectId: id },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: 50,
    include: { actor: { select: { name: true } } },
  });
  return { policy, history };
}
