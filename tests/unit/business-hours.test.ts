// Business hours: examples (office hours, holidays, 24×7, DST changes, night shifts) and
// properties over random calendars (tests/helpers/calendar-arbitraries.ts: PROP_SEED, PROP_RUNS).
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import {
  ALWAYS_OPEN,
  addBusinessMs,
  businessMsBetween,
  checkCalendar,
  compileCalendar,
  explainSpans,
  type Calendar,
  type OpenSpan,
  type Weekday,
} from '../../src/domain/business-hours.js';
import { DAY, GRID_ZONES, calendarArb, instantArb, orderedArb, propParams, spansArb } from '../helpers/calendar-arbitraries.js';

const MIN = 60_000;
const H = 60 * MIN;
const z = (iso: string) => new Date(iso);
const iso = (d: Date | null) => d?.toISOString() ?? null;

function week(days: Partial<Record<Weekday, OpenSpan[]>>): Record<Weekday, OpenSpan[]> {
  return { 1: [], 2: [], 3: [], 4: [], 5: [], 6: [], 7: [], ...days };
}
const h = (from: number, to: number): OpenSpan => ({ start: from * 60, end: to * 60 });
const office = [h(8, 18)];
const BERLIN: Calendar = { timeZone: 'Europe/Berlin', hours: week({ 1: office, 2: office, 3: office, 4: office, 5: office }), holidays: [] };
const everyDay = (spans: OpenSpan[]) => week({ 1: spans, 2: spans, 3: spans, 4: spans, 5: spans, 6: spans, 7: spans });

describe('office hours Mon–Fri 08:00–18:00 in Europe/Berlin', () => {
  it('a 30-minute target from Friday 17:30 ends at 18:00 (the end of the span, not Monday)', () => {
    // 2026-12-04 is a Friday; Berlin is UTC+1 in December.
    expect(iso(addBusinessMs(BERLIN, z('2026-12-04T16:30:00Z'), 30 * MIN))).toBe('2026-12-04T17:00:00.000Z');
  });

  it('from Friday 17:50, 30 minutes are 10 on Friday and 20 on Monday: due Monday 08:20', () => {
    expect(iso(addBusinessMs(BERLIN, z('2026-12-04T16:50:00Z'), 30 * MIN))).toBe('2026-12-07T07:20:00.000Z');
    expect(businessMsBetween(BERLIN, z('2026-12-04T16:50:00Z'), z('2026-12-07T07:20:00Z'))).toBe(30 * MIN);
    // a weekend in between counts nothing
    expect(businessMsBetween(BERLIN, z('2026-12-04T17:00:00Z'), z('2026-12-07T07:00:00Z'))).toBe(0);
  });

  it('a week is 50 hours; zero or negative stretches are 0', () => {
    expect(businessMsBetween(BERLIN, z('2026-12-07T00:00:00Z'), z('2026-12-14T00:00:00Z'))).toBe(50 * H);
    expect(businessMsBetween(BERLIN, z('2026-12-07T10:00:00Z'), z('2026-12-07T10:00:00Z'))).toBe(0);
    expect(businessMsBetween(BERLIN, z('2026-12-08T10:00:00Z'), z('2026-12-07T10:00:00Z'))).toBe(0);
  });

  it('adding 0 gives the start itself, even outside the hours; a positive amount never lands on a span start', () => {
    expect(iso(addBusinessMs(BERLIN, z('2026-12-05T12:00:00Z'), 0))).toBe('2026-12-05T12:00:00.000Z');
    expect(iso(addBusinessMs(BERLIN, z('2026-12-05T12:00:00Z'), 1))).toBe('2026-12-07T07:00:00.001Z');
    // exactly a day's hours from a span's start ends at that day's end, not the next morning
    expect(iso(addBusinessMs(BERLIN, z('2026-12-07T07:00:00Z'), 10 * H))).toBe('2026-12-07T17:00:00.000Z');
  });

  it('a holiday closes its whole local date', () => {
    const xmas: Calendar = { ...BERLIN, holidays: ['2026-12-24', '2026-12-25'] };
    // Wednesday 23 Dec 17:30 + 1 h: half an hour on Wednesday, the rest on Monday 28 Dec.
    expect(iso(addBusinessMs(xmas, z('2026-12-23T16:30:00Z'), H))).toBe('2026-12-28T07:30:00.000Z');
    expect(businessMsBetween(xmas, z('2026-12-21T00:00:00Z'), z('2026-12-28T00:00:00Z'))).toBe(30 * H);
    const spans = explainSpans(xmas, z('2026-12-23T16:00:00Z'), z('2026-12-28T08:00:00Z'));
    expect(spans.map((s) => [iso(s.from), iso(s.to), s.why])).toEqual([
      ['2026-12-23T16:00:00.000Z', '2026-12-23T17:00:00.000Z', 'open'],
      ['2026-12-23T17:00:00.000Z', '2026-12-23T23:00:00.000Z', 'outside-hours'],
      ['2026-12-23T23:00:00.000Z', '2026-12-25T23:00:00.000Z', 'holiday'],
      ['2026-12-25T23:00:00.000Z', '2026-12-28T07:00:00.000Z', 'outside-hours'],
      ['2026-12-28T07:00:00.000Z', '2026-12-28T08:00:00.000Z', 'open'],
    ]);
    expect(spans.every((s) => s.open === (s.why === 'open'))).toBe(true);
  });

  it('a holiday on a closed weekend day is still shown as a holiday', () => {
    const cal: Calendar = { ...BERLIN, holidays: ['2026-12-26'] }; // a Saturday
    const spans = explainSpans(cal, z('2026-12-25T12:00:00Z'), z('2026-12-27T12:00:00Z'));
    expect(spans.map((s) => s.why)).toEqual(['open', 'outside-hours', 'holiday', 'outside-hours']);
  });
});

describe('24×7', () => {
  it('in UTC business time is real time', () => {
    expect(businessMsBetween(ALWAYS_OPEN, z('2026-03-01T00:00:00Z'), z('2026-04-01T00:00:00Z'))).toBe(31 * DAY);
    expect(iso(addBusinessMs(ALWAYS_OPEN, z('2026-03-29T00:30:00Z'), 90 * MIN))).toBe('2026-03-29T02:00:00.000Z');
    expect(explainSpans(ALWAYS_OPEN, z('2026-03-01T00:00:00Z'), z('2027-03-01T00:00:00Z'))).toEqual([
      { from: z('2026-03-01T00:00:00Z'), to: z('2027-03-01T00:00:00Z'), open: true, why: 'open' },
    ]);
    expect(checkCalendar(ALWAYS_OPEN)).toBeNull();
  });

  it('in Europe/Berlin a 1-hour target across the DST change is 1 hour of real time', () => {
    const cal: Calendar = { ...ALWAYS_OPEN, timeZone: 'Europe/Berlin' };
    // spring forward: 29 March 2026 02:00 CET → 03:00 CEST (01:00 UTC)
    expect(iso(addBusinessMs(cal, z('2026-03-29T00:30:00Z'), H))).toBe('2026-03-29T01:30:00.000Z');
    // fall back: 25 October 2026 03:00 CEST → 02:00 CET (01:00 UTC)
    expect(iso(addBusinessMs(cal, z('2026-10-25T00:30:00Z'), H))).toBe('2026-10-25T01:30:00.000Z');
    // the local days are 23 and 25 hours long, all open
    expect(businessMsBetween(cal, z('2026-03-28T23:00:00Z'), z('2026-03-29T22:00:00Z'))).toBe(23 * H);
    expect(businessMsBetween(cal, z('2026-10-24T22:00:00Z'), z('2026-10-25T23:00:00Z'))).toBe(25 * H);
  });

  it('in America/New_York too (second Sunday of March, first of November)', () => {
    const cal: Calendar = { ...ALWAYS_OPEN, timeZone: 'America/New_York' };
    expect(iso(addBusinessMs(cal, z('2026-03-08T06:30:00Z'), H))).toBe('2026-03-08T07:30:00.000Z');
    expect(businessMsBetween(cal, z('2026-11-01T04:00:00Z'), z('2026-11-02T05:00:00Z'))).toBe(25 * H);
  });
});

describe('DST days with office hours in Europe/Berlin', () => {
  const sundays = (spans: OpenSpan[]): Calendar => ({ timeZone: 'Europe/Berlin', hours: week({ 7: spans }), holidays: [] });

  it('08:00–18:00 stays 10 hours on the change days (the change is at night)', () => {
    const cal = sundays([h(8, 18)]);
    expect(businessMsBetween(cal, z('2026-03-28T00:00:00Z'), z('2026-03-30T00:00:00Z'))).toBe(10 * H);
    expect(businessMsBetween(cal, z('2026-10-24T00:00:00Z'), z('2026-10-26T00:00:00Z'))).toBe(10 * H);
  });

  it('a span across the change is shorter in spring and longer in autumn', () => {
    const cal = sundays([h(0, 8)]);
    expect(businessMsBetween(cal, z('2026-03-28T00:00:00Z'), z('2026-03-30T00:00:00Z'))).toBe(7 * H);
    expect(businessMsBetween(cal, z('2026-10-24T00:00:00Z'), z('2026-10-26T00:00:00Z'))).toBe(9 * H);
  });

  it('spring-forward gap: local times in 02:00–03:00 mean 03:00 CEST, the first instant after the gap', () => {
    const spring = [z('2026-03-28T00:00:00Z'), z('2026-03-30T00:00:00Z')] as const;
    expect(businessMsBetween(sundays([h(2, 3)]), ...spring)).toBe(0);
    expect(businessMsBetween(sundays([{ start: 150, end: 240 }]), ...spring)).toBe(H); // 02:30–04:00
    expect(businessMsBetween(sundays([h(1, 3)]), ...spring)).toBe(H); // 01:00 CET – 03:00 CEST
    const cal = sundays([{ start: 150, end: 240 }]);
    expect(explainSpans(cal, z('2026-03-29T00:00:00Z'), z('2026-03-29T03:00:00Z')).map((s) => [iso(s.from), s.why])).toEqual([
      ['2026-03-29T00:00:00.000Z', 'outside-hours'],
      ['2026-03-29T01:00:00.000Z', 'open'],
      ['2026-03-29T02:00:00.000Z', 'outside-hours'],
    ]);
  });

  it('fall-back overlap: a local time in 02:00–03:00 means its first occurrence (CEST)', () => {
    const autumn = [z('2026-10-24T00:00:00Z'), z('2026-10-26T00:00:00Z')] as const;
    expect(businessMsBetween(sundays([h(2, 3)]), ...autumn)).toBe(2 * H); // 02:00 CEST – 03:00 CET
    expect(businessMsBetween(sundays([{ start: 0, end: 150 }]), ...autumn)).toBe(2.5 * H); // ends 02:30 CEST = 00:30 UTC
    expect(businessMsBetween(sundays([{ start: 150, end: 1440 }]), ...autumn)).toBe(22.5 * H);
    const spans = explainSpans(sundays([{ start: 150, end: 165 }]), z('2026-10-25T00:00:00Z'), z('2026-10-25T03:00:00Z'));
    expect(spans.map((s) => [iso(s.from), s.why])).toEqual([
      ['2026-10-25T00:00:00.000Z', 'outside-hours'],
      ['2026-10-25T00:30:00.000Z', 'open'],
      ['2026-10-25T00:45:00.000Z', 'outside-hours'],
    ]);
  });
});

describe('a night shift 22:00–24:00 + 00:00–02:00', () => {
  // Monday night into Tuesday, in UTC and in Berlin.
  const shift = (timeZone: string): Calendar => ({ timeZone, hours: week({ 1: [h(22, 24)], 2: [h(0, 2)] }), holidays: [] });

  it('is one open piece across midnight, 4 hours long', () => {
    const cal = shift('UTC');
    expect(explainSpans(cal, z('2026-12-07T20:00:00Z'), z('2026-12-08T04:00:00Z')).map((s) => [iso(s.from), iso(s.to), s.why])).toEqual([
      ['2026-12-07T20:00:00.000Z', '2026-12-07T22:00:00.000Z', 'outside-hours'],
      ['2026-12-07T22:00:00.000Z', '2026-12-08T02:00:00.000Z', 'open'],
      ['2026-12-08T02:00:00.000Z', '2026-12-08T04:00:00.000Z', 'outside-hours'],
    ]);
    expect(iso(addBusinessMs(cal, z('2026-12-07T21:00:00Z'), 3 * H))).toBe('2026-12-08T01:00:00.000Z');
    expect(businessMsBetween(cal, z('2026-12-07T00:00:00Z'), z('2026-12-14T00:00:00Z'))).toBe(4 * H);
  });

  it('in Berlin, with a holiday on the Tuesday only the Monday part is open', () => {
    const cal = { ...shift('Europe/Berlin'), holidays: ['2026-12-08'] };
    expect(businessMsBetween(cal, z('2026-12-07T00:00:00Z'), z('2026-12-09T00:00:00Z'))).toBe(2 * H);
    expect(iso(addBusinessMs(cal, z('2026-12-07T21:00:00Z'), 3 * H))).toBe('2026-12-14T22:00:00.000Z'); // 2 h Monday night, 1 h the next Monday night (22:00–23:00 CET)
  });
});

describe('checkCalendar', () => {
  const ok: Calendar = BERLIN;
  it('accepts valid calendars', () => {
    expect(checkCalendar(ok)).toBeNull();
    expect(checkCalendar({ ...ok, hours: week({ 3: [h(8, 12), h(12, 14)] }), holidays: ['2024-02-29'] })).toBeNull();
  });
  it.each([
    [{ ...ok, timeZone: 'Mars/Olympus' }, /Unknown time zone "Mars\/Olympus"/],
    [{ ...ok, timeZone: '' }, /Unknown time zone/],
    [{ ...ok, hours: week({ 1: [h(8, 12), h(11, 14)] }) }, /Monday: .*must not overlap.*11:00–14:00/],
    [{ ...ok, hours: week({ 2: [h(13, 14), h(8, 12)] }) }, /Tuesday: .*in order/],
    [{ ...ok, hours: week({ 3: [{ start: 600, end: 1500 }] }) }, /Wednesday: the span 10:00–25:00 is outside 00:00–24:00/],
    [{ ...ok, hours: week({ 4: [{ start: -5, end: 60 }] }) }, /Thursday: .*outside/],
    [{ ...ok, hours: week({ 5: [h(9, 9)] }) }, /Friday: the span 09:00–09:00 must end after it starts/],
    [{ ...ok, hours: week({ 6: [{ start: 1.5, end: 60 }] }) }, /Saturday: .*whole minutes/],
    [{ ...ok, hours: week({}) }, /never open/],
    [{ ...ok, hours: { ...week({ 1: office }), 7: undefined } as unknown as Calendar['hours'] }, /Sunday are missing/],
    [{ ...ok, holidays: ['2026-02-30'] }, /"2026-02-30" is not a date/],
    [{ ...ok, holidays: ['25.12.2026'] }, /not a date/],
  ])('refuses %#', (cal, message) => {
    expect(checkCalendar(cal)).toMatch(message);
    expect(() => businessMsBetween(cal, z('2026-01-01T00:00:00Z'), z('2026-01-02T00:00:00Z'))).toThrow(RangeError);
  });
});

describe('bounds', () => {
  it('addBusinessMs gives up (null) when holidays close every open day for years', () => {
    // Open on Mondays only; every Monday of 2026–2030 a holiday.
    const mondays: string[] = [];
    for (let t = Date.UTC(2026, 0, 5); t < Date.UTC(2031, 0, 1); t += 7 * DAY) mondays.push(new Date(t).toISOString().slice(0, 10));
    const cal: Calendar = { timeZone: 'UTC', hours: week({ 1: [h(9, 10)] }), holidays: mondays };
    const started = performance.now();
    expect(addBusinessMs(cal, z('2026-01-01T00:00:00Z'), MIN)).toBeNull();
    expect(performance.now() - started).toBeLessThan(500);
    // but a target that the open time reaches within the horizon is found
    expect(iso(addBusinessMs({ ...cal, holidays: mondays.slice(0, 100) }, z('2026-01-01T00:00:00Z'), MIN))).toBe(
      new Date(Date.UTC(2026, 0, 5) + 100 * 7 * DAY + 9 * H + MIN).toISOString(),
    );
  });

  it('refuses a negative amount and invalid dates', () => {
    expect(() => addBusinessMs(BERLIN, z('2026-01-01T00:00:00Z'), -1)).toThrow(RangeError);
    expect(() => addBusinessMs(BERLIN, new Date(NaN), 1)).toThrow(RangeError);
    expect(() => businessMsBetween(BERLIN, new Date(NaN), z('2026-01-01T00:00:00Z'))).toThrow(RangeError);
  });

  it('explainSpans stops at its limit and marks the last piece', () => {
    const from = z('2026-01-01T00:00:00Z');
    const to = z('2027-01-01T00:00:00Z');
    const all = explainSpans(BERLIN, from, to, 100_000);
    expect(all.length).toBeGreaterThan(500);
    expect(all.some((s) => s.truncated)).toBe(false);
    const cut = explainSpans(BERLIN, from, to);
    expect(cut).toHaveLength(500);
    expect(cut[499]!.truncated).toBe(true);
    expect(cut.slice(0, 499).some((s) => s.truncated)).toBe(false);
    expect(cut.map(({ truncated: _, ...s }) => s)).toEqual(all.slice(0, 500));
    expect(explainSpans(BERLIN, from, to, 1)).toEqual([{ ...all[0], truncated: true }]);
  });

  it('10 years of office hours: under 50 ms once the zone is known (about 1 ms), the first time about 20 ms', () => {
    for (const timeZone of ['Europe/Berlin', 'America/New_York', 'Australia/Sydney']) {
      const cal = compileCalendar({ ...BERLIN, timeZone, holidays: ['2027-12-24', '2028-12-24'] });
      const from = z('2031-01-01T00:00:00Z');
      const to = z('2041-01-01T00:00:00Z');
      let started = performance.now();
      const cold = cal.msBetween(from, to);
      const coldMs = performance.now() - started;
      const warm = [0, 1, 2].map(() => {
        started = performance.now();
        expect(businessMsBetween({ ...BERLIN, timeZone }, from, to)).toBe(cold);
        return performance.now() - started;
      });
      expect(Math.min(...warm)).toBeLessThan(50); // the best of three: a busy machine can hold up any one
      // The first use of a zone reads its offsets from Intl (about 20 ms; loose: CI machines are shared).
      expect(coldMs).toBeLessThan(1000);
      let weekdays = 0;
      for (let t = from.getTime(); t < to.getTime(); t += DAY) if (new Date(t).getUTCDay() % 6 !== 0) weekdays++;
      expect(cold).toBe(weekdays * 10 * H);
    }
  });
});

// ------------------------------------------------------------------------------------------------
// Properties

/** The instants (to the day) a zone's offset changes in 2024–2028, by luxon; memoized. */
const changes = new Map<string, number[]>();
function changesOf(zone: string): number[] {
  let list = changes.get(zone);
  if (!list) {
    list = [];
    let prev = DateTime.fromMillis(Date.UTC(2024, 0, 1), { zone }).offset;
    for (let t = Date.UTC(2024, 0, 1) + DAY; t < Date.UTC(2029, 0, 1); t += DAY) {
      const o = DateTime.fromMillis(t, { zone }).offset;
      if (o !== prev) list.push(t - DAY);
      prev = o;
    }
    changes.set(zone, list);
  }
  return list;
}

describe('properties', () => {
  it('business time is additive: [a,c) = [a,b) + [b,c)', () => {
    fc.assert(
      fc.property(calendarArb(), orderedArb(3, 60 * DAY), (cal, [a, b, c]) => {
        const bc = compileCalendar(cal);
        const ab = bc.msBetweenMs(a!, b!);
        const bcMs = bc.msBetweenMs(b!, c!);
        expect(bc.msBetweenMs(a!, c!)).toBe(ab + bcMs);
        expect(ab).toBeGreaterThanOrEqual(0);
        expect(ab).toBeLessThanOrEqual(b! - a!);
        expect(Number.isInteger(ab)).toBe(true);
      }),
      propParams(300),
    );
  });

  it('addBusinessMs gives the earliest instant with exactly that much business time', () => {
    fc.assert(
      fc.property(
        calendarArb(),
        instantArb,
        fc.oneof(
          fc.constant(0),
          fc.integer({ min: 1, max: 2 * 3_600_000 }),
          fc.integer({ min: 1, max: 20 * DAY }),
          // the business time up to some later instant: often exactly what is left of a span
          fc.integer({ min: 1, max: 20 * DAY }).map((x) => -x),
        ),
        (cal, from, amountOrUpTo) => {
          const bc = compileCalendar(cal);
          const amount = amountOrUpTo < 0 ? bc.msBetweenMs(from, from - amountOrUpTo) : amountOrUpTo;
          const t = bc.addMs(from, amount);
          if (t === null) return; // the calendar closes for years (holidays); checked in 'bounds'
          expect(t).toBeGreaterThanOrEqual(from);
          expect(bc.msBetweenMs(from, t)).toBe(amount);
          if (amount === 0) expect(t).toBe(from);
          else expect(bc.msBetweenMs(from, t - 1)).toBe(amount - 1);
        },
      ),
      propParams(300),
    );
  });

  it('explainSpans: contiguous pieces covering [from,to), kinds alternating, open parts summing to the business time', () => {
    fc.assert(
      fc.property(calendarArb(), orderedArb(2, 30 * DAY), (cal, [from, to]) => {
        const spans = explainSpans(cal, new Date(from!), new Date(to!), 100_000);
        if (to === from) return void expect(spans).toEqual([]);
        expect(spans[0]!.from.getTime()).toBe(from);
        expect(spans[spans.length - 1]!.to.getTime()).toBe(to);
        let open = 0;
        spans.forEach((s, i) => {
          expect(s.to.getTime()).toBeGreaterThan(s.from.getTime());
          expect(s.open).toBe(s.why === 'open');
          expect(s.truncated).toBeUndefined();
          if (i > 0) {
            expect(s.from.getTime()).toBe(spans[i - 1]!.to.getTime());
            expect(s.why).not.toBe(spans[i - 1]!.why);
          }
          if (s.open) open += s.to.getTime() - s.from.getTime();
        });
        expect(open).toBe(businessMsBetween(cal, new Date(from!), new Date(to!)));
      }),
      propParams(200),
    );
  });

  it('agrees with a slow reference that looks up each quarter hour’s local time with luxon (whole-hour spans)', () => {
    // Off the fall-back overlap the rules above are simply "open when the local wall-clock time
    // is inside a span of its local date that is not a holiday"; with whole-hour spans, zones that
    // change at whole UTC hours and offsets in quarter hours, every quarter hour is all open or all
    // closed, so sampling them is exact.
    const Q = 15 * MIN;
    const wholeHours = fc.integer({ min: 0, max: 24 }).map((x) => x * 60);
    const arb = calendarArb({ zones: GRID_ZONES, boundary: wholeHours }).chain((cal) => {
      const changes = changesOf(cal.timeZone);
      const anywhere = fc.integer({ min: Date.UTC(2024, 0, 1) / Q, max: Date.UTC(2028, 11, 1) / Q });
      // most windows start up to two days before one of the zone's changes
      const nearChange = changes.length
        ? fc.tuple(fc.constantFrom(...changes), fc.integer({ min: 0, max: 2 * 96 })).map(([t, back]) => Math.floor(t / Q) - back)
        : anywhere;
      return fc.tuple(fc.constant(cal), fc.oneof({ weight: 1, arbitrary: anywhere }, { weight: 3, arbitrary: nearChange }), fc.integer({ min: 0, max: 4 * 96 }));
    });
    fc.assert(
      fc.property(
        arb,
        ([cal, q0, n]) => {
          const from = q0 * Q;
          const holidays = new Set(cal.holidays);
          let expected = 0;
          for (let i = 0; i < n; i++) {
            const local = DateTime.fromMillis(from + i * Q, { zone: cal.timeZone });
            const minute = local.hour * 60 + local.minute;
            const open =
              !holidays.has(local.toISODate()!) && cal.hours[local.weekday as Weekday].some((s) => s.start <= minute && minute < s.end);
            if (open) expected += Q;
          }
          expect(businessMsBetween(cal, new Date(from), new Date(from + n * Q))).toBe(expected);
        },
      ),
      propParams(100),
    );
  });

  it('the generators make valid calendars (a check of the generators)', () => {
    fc.assert(
      fc.property(calendarArb(), spansArb(), (cal, s) => {
        expect(checkCalendar(cal)).toBeNull();
        expect(checkCalendar({ ...cal, hours: { ...cal.hours, 1: [{ start: 0, end: 1 }], 3: s } })).toBeNull();
      }),
      propParams(50),
    );
  });
});
