// fast-check arbitraries for business-hours and SLA clock properties: calendars in zones with and
// without daylight saving, instants around their changes, ticket histories.
//
// Runs: PROP_RUNS scales every property's number of runs (default 1 = the numbers in the tests).
// A failure prints fast-check's seed and path; re-run it with PROP_SEED=<seed> PROP_PATH=<path>
// (without PROP_SEED each run draws a new seed, as the other property tests of the project do).
import fc from 'fast-check';
import type { Calendar, OpenSpan, Weekday } from '../../src/domain/business-hours.js';
import type { ClockEvent } from '../../src/domain/sla-clock.js';
import type { TicketStatus } from '../../src/generated/prisma/enums.js';

const SEED = process.env.PROP_SEED === undefined ? undefined : Number(process.env.PROP_SEED);
const PATH = process.env.PROP_PATH;
const SCALE = Number(process.env.PROP_RUNS ?? 1);

/** fast-check parameters for a property meant to run `numRuns` times in CI. */
export function propParams(numRuns: number): fc.Parameters<unknown> {
  const p: fc.Parameters<unknown> = { numRuns: Math.max(1, Math.round(numRuns * SCALE)) };
  if (SEED !== undefined) p.seed = SEED;
  if (PATH !== undefined) p.path = PATH;
  return p;
}

/** Zones with daylight saving (whole hours, half an hour in Lord Howe, at 02:45 in Chatham, around Ramadan in Casablanca) and without. */
export const DST_ZONES = [
  'Europe/Berlin',
  'Europe/London',
  'America/New_York',
  'America/Santiago',
  'Australia/Sydney',
  'Australia/Lord_Howe',
  'Pacific/Chatham',
  'Africa/Casablanca',
];
export const FIXED_ZONES = ['UTC', 'Asia/Kolkata', 'Asia/Tokyo', 'America/Sao_Paulo', 'Asia/Kathmandu'];
/** Zones whose changes happen at whole UTC hours and whose offsets are multiples of 15 minutes. */
export const GRID_ZONES = ['UTC', 'Europe/Berlin', 'Europe/London', 'America/New_York', 'Australia/Sydney', 'Asia/Kolkata', 'Asia/Tokyo'];

export const DAY = 86_400_000;
export const T0 = Date.UTC(2024, 0, 1);
export const T1 = Date.UTC(2029, 0, 1);

/** Minutes a span boundary likes to fall on: midnight, the hours clocks change at, odd minutes. */
const boundary = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(0, 60, 90, 120, 135, 150, 165, 180, 210, 240, 480, 1080, 1320, 1440) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 1440 }) },
);

/** Sorted, non-overlapping spans of a day ([] sometimes). */
export function spansArb(boundaryArb: fc.Arbitrary<number> = boundary): fc.Arbitrary<OpenSpan[]> {
  return fc.uniqueArray(boundaryArb, { maxLength: 6 }).map((bs) => {
    const sorted = [...bs].sort((a, b) => a - b);
    const spans: OpenSpan[] = [];
    for (let i = 0; i + 1 < sorted.length; i += 2) spans.push({ start: sorted[i]!, end: sorted[i + 1]! });
    return spans;
  });
}

function dateString(day: number): string {
  return new Date(day * DAY).toISOString().slice(0, 10);
}

export function calendarArb(opts: { zones?: readonly string[]; boundary?: fc.Arbitrary<number> } = {}): fc.Arbitrary<Calendar> {
  const zones = opts.zones ?? [...DST_ZONES, ...FIXED_ZONES];
  return fc
    .record({
      timeZone: fc.constantFrom(...zones),
      week: fc.array(spansArb(opts.boundary), { minLength: 7, maxLength: 7 }),
      holidays: fc.array(fc.integer({ min: Math.floor(T0 / DAY), max: Math.floor(T1 / DAY) }), { maxLength: 40 }),
      clusteredHolidays: fc.integer({ min: 0, max: 30 }),
    })
    .map(({ timeZone, week, holidays, clusteredHolidays }) => {
      if (week.every((s) => s.length === 0)) week[0] = [{ start: 480, end: 1080 }];
      const hours = {} as Record<Weekday, OpenSpan[]>;
      week.forEach((s, i) => (hours[(i + 1) as Weekday] = s));
      // Some runs close weeks in a row around 2026 (a holiday season), not only scattered days.
      const start = Math.floor(Date.UTC(2026, 11, 20) / DAY);
      const cluster = Array.from({ length: clusteredHolidays }, (_, i) => start + i);
      return { timeZone, hours, holidays: [...holidays, ...cluster].map(dateString) };
    });
}

/** An instant in 2024–2028, often near a DST change of the zones above (late March/October, early April/November). */
export const instantArb: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: T0, max: T1 }),
  fc
    .record({
      year: fc.integer({ min: 2024, max: 2028 }),
      month: fc.constantFrom(2, 3, 8, 9, 10),
      day: fc.integer({ min: 0, max: 31 * DAY - 1 }),
    })
    .map(({ year, month, day }) => Date.UTC(year, month, 1) + day),
  // whole minutes and hours, where boundaries coincide
  fc.integer({ min: T0 / 60_000, max: T1 / 60_000 }).map((m) => m * 60_000),
);

/** Three instants a ≤ b ≤ c, at most `maxSpan` ms apart. */
export function orderedArb(n: number, maxSpan: number): fc.Arbitrary<number[]> {
  return fc
    .tuple(instantArb, fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: maxSpan })), { minLength: n - 1, maxLength: n - 1 }))
    .map(([a, gaps]) => {
      const out = [a];
      for (const g of gaps) out.push(out[out.length - 1]! + Math.floor(g / (n - 1)));
      return out;
    });
}

const STATUSES: TicketStatus[] = ['NEW', 'OPEN', 'IN_PROGRESS', 'WAITING_ON_CUSTOMER', 'RESOLVED', 'CLOSED'];

/** A ticket's history: 'created' then up to `max` events, in time order, same-time events included. */
export function historyArb(max = 30): fc.Arbitrary<ClockEvent[]> {
  const step = fc.record({
    gap: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3 * 3_600_000 }), fc.integer({ min: 0, max: 4 * DAY })),
    what: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...STATUSES).map((to) => ({ kind: 'status' as const, to })) },
      { weight: 2, arbitrary: fc.constant({ kind: 'staff-reply' as const }) },
      { weight: 2, arbitrary: fc.constant({ kind: 'customer-message' as const }) },
    ),
  });
  return fc
    .record({
      at: instantArb,
      status: fc.oneof(
        { weight: 8, arbitrary: fc.constantFrom<TicketStatus>('NEW', 'OPEN', 'IN_PROGRESS') },
        { weight: 1, arbitrary: fc.constantFrom<TicketStatus>('WAITING_ON_CUSTOMER', 'RESOLVED', 'CLOSED') },
      ),
      byStaff: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      steps: fc.array(step, { maxLength: max }),
    })
    .map(({ at, status, byStaff, steps }) => {
      const events: ClockEvent[] = [{ kind: 'created', at: new Date(at), status, byStaff }];
      let t = at;
      for (const { gap, what } of steps) {
        t += gap;
        events.push({ ...what, at: new Date(t) });
      }
      return events;
    });
}

const targetArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constant(0) },
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 3 * DAY }) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 240 }).map((m) => m * 60_000) },
);
export const targetsArb = fc.record({ firstResponseMs: targetArb, nextResponseMs: targetArb, resolutionMs: targetArb });
