import { z } from 'zod';
import { CHANNELS, URGENCIES, type Channel, type Urgency } from '../../domain/enums.js';
import { WEEKDAYS, type OpenSpan, type Weekday } from '../../domain/business-hours.js';
import { parseDuration, parseSpans } from '../../domain/sla-format.js';
import { listedTimeZone } from '../../domain/time-zones.js';
import { id, requiredText } from './common.js';

export const WEEKDAY_LABEL: Record<Weekday, string> = { 1: 'Monday', 2: 'Tuesday', 3: 'Wednesday', 4: 'Thursday', 5: 'Friday', 6: 'Saturday', 7: 'Sunday' };
export const TARGET_FIELDS = [
  ['first', 'First response'],
  ['next', 'Next response'],
  ['resolution', 'Resolution'],
] as const;

const text = (max: number) => z.string().max(max, `At most ${max} characters.`).optional().default('');
const checkbox = z.string().max(10).optional().transform((v) => v !== undefined && v !== '');
/** A form's repeated field: one value, several, or none. */
const many = <T extends string>(values: readonly T[], label: string) =>
  z
    .union([z.string(), z.array(z.string()).max(values.length)])
    .optional()
    .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]))
    .pipe(z.array(z.enum(values as [T, ...T[]], { error: `Choose a valid ${label}.` })));
const optionalId = z.union([z.literal('').transform(() => null), id]).optional().transform((v) => v ?? null);

const calendarFields = {
  name: requiredText('A name', 80),
  timeZone: z
    .string({ error: 'Choose a time zone.' })
    .max(64, 'Choose a time zone from the list.')
    .transform((v, ctx) => {
      const zone = listedTimeZone(v.trim());
      if (!zone) ctx.addIssue({ code: 'custom', message: 'Choose a time zone from the list.' });
      return zone ?? '';
    }),
  ...Object.fromEntries(WEEKDAYS.map((d) => [`hours${d}`, text(200)])),
};

/** Working hours per weekday ("08:00-18:00", "08:00-12:00, 13:00-17:00", "24h", empty: closed). */
export const CalendarForm = z.object(calendarFields).transform((f, ctx) => {
  const hours = {} as Record<Weekday, OpenSpan[]>;
  const form = f as Record<string, unknown>;
  for (const d of WEEKDAYS) {
    const spans = parseSpans(String(form[`hours${d}`] ?? ''));
    if (typeof spans === 'string') ctx.addIssue({ code: 'custom', path: [`hours${d}`], message: `${WEEKDAY_LABEL[d]}: ${spans}` });
    else hours[d] = spans;
  }
  return { name: f.name, timeZone: f.timeZone, hours };
});

export const HolidayForm = z.object({
  date: z.string({ error: 'Pick a day.' }).max(10, 'Pick a day.'),
  holidayName: z.string().max(120, 'At most 120 characters.').optional().default(''),
});
export const RemoveHolidayForm = z.object({ holidayId: id });

const targetFields = Object.fromEntries(URGENCIES.flatMap((u) => TARGET_FIELDS.map(([k]) => [`${k}-${u}`, text(30)])));

const policyFields = {
  name: requiredText('A name', 80),
  position: z.union([z.literal(''), z.coerce.number().int('A whole number.').min(0, 'From 0 to 1000.').max(1000, 'From 0 to 1000.')]).optional().transform((v) => (typeof v === 'number' ? v : 0)),
  isDefault: checkbox,
  active: checkbox,
  calendarId: optionalId,
  matchUrgencies: many<Urgency>(URGENCIES, 'urgency'),
  matchChannels: many<Channel>(CHANNELS, 'channel'),
  matchTeamId: optionalId,
  matchOrganizationId: optionalId,
  warnPercent: z.coerce.number({ error: 'A percentage from 1 to 99.' }).int('A whole percentage.').min(1, 'From 1 to 99.').max(99, 'From 1 to 99.'),
  escalateUrgency: checkbox,
  escalateToLead: checkbox,
  ...targetFields,
};

/** A policy: its conditions, warning share, escalation, and targets per urgency ("30m", "4h", "1d 2h"). */
export const PolicyForm = z.object(policyFields).transform((f, ctx) => {
  const form = f as Record<string, unknown>;
  const targets: Partial<Record<Urgency, { firstResponseMinutes: number | null; nextResponseMinutes: number | null; resolutionMinutes: number | null }>> = {};
  for (const u of URGENCIES) {
    const minutes = TARGET_FIELDS.map(([k, label]) => {
      const parsed = parseDuration(String(form[`${k}-${u}`] ?? ''));
      if (typeof parsed === 'string') {
        ctx.addIssue({ code: 'custom', path: [`${k}-${u}`], message: `${label}: ${parsed}` });
        return null;
      }
      return parsed;
    });
    if (minutes.some((m) => m !== null)) targets[u] = { firstResponseMinutes: minutes[0]!, nextResponseMinutes: minutes[1]!, resolutionMinutes: minutes[2]! };
  }
  return {
    name: f.name,
    position: f.position,
    isDefault: f.isDefault,
    active: f.active,
    calendarId: f.calendarId,
    matchUrgencies: f.matchUrgencies,
    matchChannels: f.matchChannels,
    matchTeamId: f.matchTeamId,
    matchOrganizationId: f.matchOrganizationId,
    warnPercent: f.warnPercent,
    escalateUrgency: f.escalateUrgency,
    escalateToLead: f.escalateToLead,
    targets,
  };
});
