// The SLA settings as the clock uses them: every active policy with its targets and calendar,
// read once and kept for a few seconds (a change made here is seen at once; one made on another
// instance within SETTINGS_TTL_MS), and which policy applies to a ticket.
import type { Db, Tx } from '../../db/client.js';
import type { Channel, Urgency } from '../../domain/enums.js';
import { ALWAYS_OPEN, compileCalendar, type BusinessCalendar, type Calendar, type OpenSpan, type Weekday } from '../../domain/business-hours.js';
import type { SlaTargets } from '../../domain/sla-clock.js';
import { keptFor } from '../kept.js';
import { logError } from '../../log.js';
import { onCacheNotice } from '../cache-notices.js';

export interface PolicyTargets {
  firstResponseMinutes: number | null;
  nextResponseMinutes: number | null;
  resolutionMinutes: number | null;
}

export interface ActivePolicy {
  id: number;
  name: string;
  position: number;
  isDefault: boolean;
  calendarId: number | null;
  calendarName: string | null;
  /** Compiled once per load of the settings (zone and holidays looked up once). */
  calendar: BusinessCalendar;
  matchUrgencies: readonly Urgency[];
  matchChannels: readonly Channel[];
  matchTeamId: number | null;
  matchOrganizationId: number | null;
  warnPercent: number;
  escalateUrgency: boolean;
  escalateToLead: boolean;
  targets: Partial<Record<Urgency, PolicyTargets>>;
}

export interface SlaSettings {
  /** Active policies in the order they are tried (the default one last). */
  policies: readonly ActivePolicy[];
  byId: ReadonlyMap<number, ActivePolicy>;
}

/** What a policy is chosen by. */
export interface PolicySubject {
  urgency: Urgency;
  channel: Channel;
  teamId: number;
  organizationId: number | null;
}

const SETTINGS_TTL_MS = 10_000;
/** Forget the kept settings (after an admin changed a calendar or a policy). */
export function invalidateSlaSettings(): void {
  keptSettings.drop();
  keptCalendars.drop();
}

onCacheNotice('sla', () => invalidateSlaSettings());

/** A calendar as stored (hours JSON, holiday dates) in the clock's terms. */
export function calendarFrom(row: { timeZone: string; hours: unknown; holidays: readonly { date: Date }[] }): Calendar {
  const stored = (row.hours ?? {}) as Record<string, OpenSpan[] | undefined>;
  const hours = {} as Record<Weekday, OpenSpan[]>;
  for (const day of [1, 2, 3, 4, 5, 6, 7] as Weekday[]) hours[day] = (stored[String(day)] ?? []).map((s) => ({ start: s.start, end: s.end }));
  return { timeZone: row.timeZone, hours, holidays: row.holidays.map((h) => h.date.toISOString().slice(0, 10)) };
}

async function load(db: Db | Tx): Promise<SlaSettings> {
  const rows = await db.slaPolicy.findMany({
    where: { active: true },
    include: { targets: true, calendar: { include: { holidays: { select: { date: true } } } } },
    orderBy: [{ isDefault: 'asc' }, { position: 'asc' }, { id: 'asc' }],
  });
  const policies: ActivePolicy[] = [];
  for (const p of rows) {
    let calendar: BusinessCalendar;
    try {
      calendar = compileCalendar(p.calendar ? calendarFrom(p.calendar) : ALWAYS_OPEN);
    } catch (err) {
      // Saved calendars are checked; a zone this runtime no longer knows leaves the policy out.
      logError(`[sla] policy ${p.name} left out: ${(err as Error).message}`);
      continue;
    }
    policies.push({
    id: p.id,
    name: p.name,
    position: p.position,
    isDefault: p.isDefault,
    calendarId: p.calendarId,
    calendarName: p.calendar?.name ?? null,
    calendar,
    matchUrgencies: p.matchUrgencies,
    matchChannels: p.matchChannels,
    matchTeamId: p.matchTeamId,
    matchOrganizationId: p.matchOrganizationId,
    warnPercent: p.warnPercent,
    escalateUrgency: p.escalateUrgency,
    escalateToLead: p.escalateToLead,
    targets: Object.fromEntries(
      p.targets.map((t) => [t.urgency, { firstResponseMinutes: t.firstResponseMinutes, nextResponseMinutes: t.nextResponseMinutes, resolutionMinutes: t.resolutionMinutes }]),
    ),
    });
  }
  return { policies, byId: new Map(policies.map((p) => [p.id, p])) };
}

const keptSettings = keptFor(SETTINGS_TTL_MS, load);

/** The active policies (kept for SETTINGS_TTL_MS). */
export function slaSettings(db: Db | Tx): Promise<SlaSettings> {
  return keptSettings.get(db);
}

/** Whether `policy`'s conditions hold for the ticket (an empty or null condition: any). */
export function policyMatches(policy: ActivePolicy, s: PolicySubject): boolean {
  if (policy.isDefault) return true;
  return (
    (policy.matchUrgencies.length === 0 || policy.matchUrgencies.includes(s.urgency)) &&
    (policy.matchChannels.length === 0 || policy.matchChannels.includes(s.channel)) &&
    (policy.matchTeamId === null || policy.matchTeamId === s.teamId) &&
    (policy.matchOrganizationId === null || policy.matchOrganizationId === s.organizationId)
  );
}

/** The first active policy whose conditions hold, the default one otherwise; null when none. */
export function choosePolicy(settings: SlaSettings, s: PolicySubject): ActivePolicy | null {
  return settings.policies.find((p) => policyMatches(p, s)) ?? null;
}

/** A policy's targets for an urgency, in the clock's milliseconds (none set: no clock). */
export function targetsFor(policy: ActivePolicy, urgency: Urgency): SlaTargets {
  const t = policy.targets[urgency];
  const ms = (minutes: number | null | undefined) => (minutes ? minutes * 60_000 : null);
  return { firstResponseMs: ms(t?.firstResponseMinutes), nextResponseMs: ms(t?.nextResponseMinutes), resolutionMs: ms(t?.resolutionMinutes) };
}

/** The same targets scaled to the warning share: the clock's due times are then the warning moments. */
export function warningTargets(targets: SlaTargets, percent: number): SlaTargets {
  const part = (ms: number | null) => (ms === null ? null : Math.max(1, Math.floor((ms * percent) / 100)));
  return { firstResponseMs: part(targets.firstResponseMs), nextResponseMs: part(targets.nextResponseMs), resolutionMs: part(targets.resolutionMs) };
}

/** Every business calendar, compiled (automation rules ask whether one is open now). Kept like the policies. */
const keptCalendars = keptFor(SETTINGS_TTL_MS, (db: Db | Tx) =>
  db.businessCalendar.findMany({ include: { holidays: { select: { date: true } } } }).then((rows) => {
    const out = new Map<number, BusinessCalendar>();
    for (const row of rows) {
      try {
        out.set(row.id, compileCalendar(calendarFrom(row)));
      } catch {
        // a zone this runtime does not know: the calendar reads as missing
      }
    }
    return out as ReadonlyMap<number, BusinessCalendar>;
  }),
);

export function businessCalendars(db: Db | Tx): Promise<ReadonlyMap<number, BusinessCalendar>> {
  return keptCalendars.get(db);
}

/** Whether the calendar is open at this instant (its business time in [at, at + 1 ms) is not empty). */
export function openAt(cal: BusinessCalendar, at: Date): boolean {
  return cal.msBetweenMs(at.getTime(), at.getTime() + 1) > 0;
}
