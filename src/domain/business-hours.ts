// Business hours: when a help desk is open, and how much open ("business") time lies between two
// instants. Pure: no database, no "now". The SLA clock (sla-clock.ts) counts with it.
//
// A Calendar says, per ISO weekday, the local wall-clock spans the desk is open (minutes since
// local midnight, 0 ≤ start < end ≤ 1440), in an IANA time zone, and lists local dates that are
// closed all day (holidays). A span ending at 1440 ends at the next local midnight, so a night
// shift is written as two spans: 22:00–24:00 on one day and 00:00–02:00 on the next.
//
// Local times become instants by these rules (luxon's IANAZone gives the zone's UTC offsets):
// - a local time that exists once is that instant; so on a DST day an open span 08:00–18:00 is
//   9 or 11 hours of real time when the clocks change inside it;
// - a local time in the spring-forward gap (it does not exist) means the first instant after the
//   gap: in Europe/Berlin on the last Sunday of March 02:00–02:59 all mean 03:00 CEST (01:00 UTC),
//   so a span 02:00–03:00 that day is empty and a span 02:30–04:00 is one real hour;
// - a local time in the fall-back overlap (it exists twice) means its FIRST occurrence: in
//   Europe/Berlin on the last Sunday of October 02:30 means 02:30 CEST (00:30 UTC), so a span
//   02:00–03:00 that day is two real hours and 00:00–02:30 ends at 00:30 UTC.
//   Both rules are one: a local time L means the earliest instant whose local time is ≥ L. That
//   mapping never goes backwards, so the spans of a day stay in order and a whole local day is
//   always exactly its real length (23, 24 or 25 hours).
// - a holiday closes the whole local date, from its local midnight to the next.
// - Offsets are read from the runtime's time-zone data (Intl, through luxon) and cached per
//   8-day block; a block whose two ends have the same offset is taken to have no change inside
//   it. That assumes a zone never changes its offset and changes back within 8 days, true of all
//   rules in use today (some wartime years of the 1940s may not be exact).
//
// Every computation walks local days (bounded, linear in the number of days, never per minute).
// Instants are whole milliseconds; business time is returned in whole milliseconds.
import { IANAZone } from 'luxon';

export type Weekday = 1 | 2 | 3 | 4 | 5 | 6 | 7; // ISO: 1 = Monday … 7 = Sunday
export interface OpenSpan {
  start: number;
  end: number;
} // minutes since local midnight, 0 ≤ start < end ≤ 1440
export interface Calendar {
  timeZone: string; // IANA name, e.g. 'Europe/Berlin'
  hours: Record<Weekday, OpenSpan[]>; // open spans per weekday (sorted, non-overlapping); [] = closed that day
  holidays: readonly string[]; // local dates 'YYYY-MM-DD', closed all day
}

export const WEEKDAYS: readonly Weekday[] = [1, 2, 3, 4, 5, 6, 7];
const WEEKDAY_NAME: Record<Weekday, string> = {
  1: 'Monday',
  2: 'Tuesday',
  3: 'Wednesday',
  4: 'Thursday',
  5: 'Friday',
  6: 'Saturday',
  7: 'Sunday',
};

const allDay = (): OpenSpan[] => [{ start: 0, end: 1440 }];
/** Open around the clock, every day, in UTC, no holidays. */
export const ALWAYS_OPEN: Calendar = Object.freeze({
  timeZone: 'UTC',
  hours: Object.freeze({ 1: allDay(), 2: allDay(), 3: allDay(), 4: allDay(), 5: allDay(), 6: allDay(), 7: allDay() }),
  holidays: Object.freeze([]) as readonly string[],
}) as Calendar;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** How many days in a row may be closed before addBusinessMs gives up (about three years). */
export const ADD_CLOSED_DAYS_HORIZON = 1100;
/** How many days addBusinessMs scans at most, open or not (about 110 years). */
export const ADD_MAX_DAYS = 40_000;
/** explainSpans' default limit of pieces. */
export const EXPLAIN_LIMIT = 500;

// ---------------------------------------------------------------------------------------------
// Validation

function hhmm(minutes: number): string {
  if (!Number.isFinite(minutes)) return String(minutes);
  const h = Math.floor(minutes / 60);
  const m = minutes - h * 60;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** The day number (days since 1970-01-01) of a 'YYYY-MM-DD' date, or null when it is not one. */
export function dayNumberOf(date: string): number | null {
  const m = typeof date === 'string' ? DATE_RE.exec(date) : null;
  if (!m) return null;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return null;
  const dt = new Date(0);
  dt.setUTCFullYear(y, mo - 1, d);
  if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== mo - 1 || dt.getUTCDate() !== d) return null;
  return Math.round(dt.getTime() / DAY);
}

/** Whether the runtime knows this IANA zone name. */
export function isKnownTimeZone(name: unknown): name is string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 64) return false;
  let known = knownZones.get(name);
  if (known === undefined) {
    known = IANAZone.isValidZone(name); // builds an Intl.DateTimeFormat: slow, so remembered
    if (knownZones.size > 1000) knownZones.clear();
    knownZones.set(name, known);
  }
  return known;
}
const knownZones = new Map<string, boolean>();

/**
 * What is wrong with a calendar, as a sentence for the admin page; null when it is valid.
 * Valid: a known IANA zone; for each of the 7 weekdays a list of spans with whole minutes,
 * 0 ≤ start < end ≤ 1440, sorted and not overlapping (touching is fine); some open time in the
 * week; holidays as real dates 'YYYY-MM-DD'.
 */
export function checkCalendar(cal: Calendar): string | null {
  if (!cal || typeof cal !== 'object') return 'The calendar is missing.';
  if (!isKnownTimeZone(cal.timeZone)) return `Unknown time zone "${String(cal.timeZone)}".`;
  if (!cal.hours || typeof cal.hours !== 'object') return 'The opening hours are missing.';
  let open = false;
  for (const wd of WEEKDAYS) {
    const spans = cal.hours[wd];
    const name = WEEKDAY_NAME[wd];
    if (!Array.isArray(spans)) return `The opening hours for ${name} are missing.`;
    let prevEnd = -1;
    for (const span of spans) {
      const start = span?.start;
      const end = span?.end;
      if (!Number.isInteger(start) || !Number.isInteger(end)) {
        return `${name}: a span's start and end must be whole minutes since midnight.`;
      }
      if (start < 0 || end > 1440) return `${name}: the span ${hhmm(start)}–${hhmm(end)} is outside 00:00–24:00.`;
      if (start >= end) return `${name}: the span ${hhmm(start)}–${hhmm(end)} must end after it starts.`;
      if (start < prevEnd) {
        return `${name}: the spans must be in order and must not overlap (${hhmm(start)}–${hhmm(end)} starts before ${hhmm(prevEnd)}).`;
      }
      prevEnd = end;
      open = true;
    }
  }
  if (!open) return 'The calendar is never open: give at least one weekday some open hours.';
  if (!Array.isArray(cal.holidays)) return 'The list of holidays is missing.';
  for (const h of cal.holidays) {
    if (dayNumberOf(h) === null) return `The holiday "${String(h)}" is not a date (YYYY-MM-DD).`;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Zone offsets, cached

const BLOCK = 8 * DAY;
const MAX_BLOCKS = 100_000;

class ZoneOffsets {
  // Per 8-day block k, [offset at its start, instant of the change inside it (Infinity: none), offset from then on].
  private readonly blocks = new Map<number, [number, number, number]>();
  private readonly edges = new Map<number, number>();
  constructor(private readonly zone: IANAZone) {}

  private raw(t: number): number {
    const o = this.zone.offset(t);
    if (!Number.isFinite(o)) throw new RangeError(`No UTC offset for ${this.zone.name} at ${t}.`);
    return Math.round(o * MINUTE);
  }

  private edge(k: number): number {
    let o = this.edges.get(k);
    if (o === undefined) {
      o = this.raw(k * BLOCK);
      this.edges.set(k, o);
    }
    return o;
  }

  /** The zone's offset from UTC in ms at instant t. */
  at(t: number): number {
    const k = Math.floor(t / BLOCK);
    let b = this.blocks.get(k);
    if (b === undefined) {
      if (this.blocks.size >= MAX_BLOCKS) {
        this.blocks.clear();
        this.edges.clear();
      }
      const o1 = this.edge(k);
      const o2 = this.edge(k + 1);
      if (o1 === o2) b = [o1, Infinity, o1];
      else {
        // The first instant with another offset: bisect over whole seconds (offsets change on
        // whole seconds, and Intl reports them at that precision).
        let lo = (k * BLOCK) / 1000;
        let hi = ((k + 1) * BLOCK) / 1000;
        while (hi - lo > 1) {
          const mid = Math.floor((lo + hi) / 2);
          if (this.raw(mid * 1000) === o1) lo = mid;
          else hi = mid;
        }
        b = [o1, hi * 1000, this.raw(hi * 1000)];
      }
      this.blocks.set(k, b);
    }
    return t < b[1] ? b[0] : b[2];
  }
}

const zoneCache = new Map<string, ZoneOffsets>();
function zoneOffsets(name: string): ZoneOffsets {
  let z = zoneCache.get(name);
  if (!z) {
    z = new ZoneOffsets(IANAZone.create(name) as IANAZone);
    zoneCache.set(name, z);
  }
  return z;
}

// ---------------------------------------------------------------------------------------------
// The compiled calendar

export type ClosedWhy = 'outside-hours' | 'holiday';
export interface Span {
  from: Date;
  to: Date;
  open: boolean;
  why: 'open' | ClosedWhy;
  /** Only on the last span of a list that explainSpans cut at its limit: more pieces follow. */
  truncated?: true;
}

/**
 * A calendar made ready for many computations (zone looked up, holidays in a Set of day numbers,
 * validated once). Make one with compileCalendar when computing many times with one calendar; the
 * plain functions below compile on every call. The calendar is copied: changing it afterwards
 * does not change this.
 */
export class BusinessCalendar {
  readonly timeZone: string;
  private readonly zone: ZoneOffsets;
  /** Per ISO weekday (index 1..7), the spans as flat [start, end, start, end, …] in ms since local midnight. */
  private readonly week: number[][];
  private readonly holidays: ReadonlySet<number>;

  constructor(cal: Calendar) {
    const problem = checkCalendar(cal);
    if (problem) throw new RangeError(`Invalid calendar: ${problem}`);
    this.timeZone = cal.timeZone;
    this.zone = zoneOffsets(cal.timeZone);
    this.week = [[]];
    for (const wd of WEEKDAYS) this.week.push(cal.hours[wd].flatMap((s) => [s.start * MINUTE, s.end * MINUTE]));
    this.holidays = new Set(cal.holidays.map((h) => dayNumberOf(h) as number));
  }

  /** The instant a local wall-clock time means (ms, as if it were UTC): the earliest instant whose local time is ≥ it. */
  private instantOf(local: number): number {
    const z = this.zone;
    const oA = z.at(local - DAY);
    const oB = z.at(local + DAY);
    if (oA === oB) return local - oA;
    const t1 = local - oA;
    const t2 = local - oB;
    const v1 = z.at(t1) === oA;
    const v2 = z.at(t2) === oB;
    if (v1 && v2) return Math.min(t1, t2); // the fall-back overlap: the first occurrence
    if (v1) return t1;
    if (v2) return t2;
    // The spring-forward gap: the first instant whose local time is ≥ local (the change itself).
    let lo = Math.min(t1, t2);
    let hi = Math.max(t1, t2);
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (mid + z.at(mid) >= local) hi = mid;
      else lo = mid;
    }
    return hi;
  }

  /** Whether the local date with this day number is a holiday. */
  isHoliday(day: number): boolean {
    return this.holidays.has(day);
  }

  /** The instant the local date `day` (days since 1970-01-01) begins. */
  dayStart(day: number): number {
    return this.instantOf(day * DAY);
  }

  /**
   * The open intervals of local date `day` as instants, flat [from, to, from, to, …] into `out`
   * from index 0; returns how many numbers it wrote (twice the intervals). Empty intervals (spans
   * inside a spring-forward gap) are left out.
   */
  openIntervals(day: number, out: number[]): number {
    if (this.holidays.has(day)) return 0;
    const spans = this.week[(((day % 7) + 10) % 7) + 1] as number[]; // 1970-01-01 was a Thursday
    if (spans.length === 0) return 0;
    const base = day * DAY;
    const z = this.zone;
    const o = z.at(base - DAY);
    let n = 0;
    if (o === z.at(base + 2 * DAY)) {
      for (let i = 0; i < spans.length; i++) out[n++] = base + (spans[i] as number) - o;
      return n;
    }
    for (let i = 0; i < spans.length; i += 2) {
      const s = this.instantOf(base + (spans[i] as number));
      const e = this.instantOf(base + (spans[i + 1] as number));
      if (e > s) {
        out[n++] = s;
        out[n++] = e;
      }
    }
    return n;
  }

  /** Business time in ms inside [from, to) (epoch ms); 0 when to ≤ from. */
  msBetweenMs(from: number, to: number): number {
    if (!(to > from)) return 0;
    let sum = 0;
    const buf = scratch;
    // Local date d holds instants in [d·DAY − 14 h, (d+1)·DAY + 12 h] (UTC offsets are −12…+14 h).
    const last = Math.floor(to / DAY) + 1;
    for (let d = Math.floor(from / DAY) - 1; d <= last; d++) {
      const n = this.openIntervals(d, buf);
      for (let i = 0; i < n; i += 2) {
        const s = Math.max(buf[i] as number, from);
        const e = Math.min(buf[i + 1] as number, to);
        if (e > s) sum += e - s;
      }
    }
    return sum;
  }

  /** Business time in ms inside [from, to); 0 when to ≤ from. */
  msBetween(from: Date, to: Date): number {
    return this.msBetweenMs(ms(from), ms(to));
  }

  /**
   * The earliest instant t ≥ from (epoch ms) with msBetweenMs(from, t) === amount; `from` itself
   * for 0; null beyond the horizon (ADD_CLOSED_DAYS_HORIZON closed days in a row, or
   * ADD_MAX_DAYS days in all). A fraction of a ms is rounded up.
   */
  addMs(from: number, amount: number): number | null {
    if (!(amount >= 0) || !Number.isFinite(amount)) throw new RangeError(`Cannot add ${amount} ms of business time.`);
    let left = Math.ceil(amount);
    if (left === 0) return from;
    const buf = scratch;
    const first = Math.floor(from / DAY) - 1;
    let closedInARow = 0;
    for (let d = first; d <= first + ADD_MAX_DAYS; d++) {
      const n = this.openIntervals(d, buf);
      let openToday = false;
      for (let i = 0; i < n; i += 2) {
        const s = Math.max(buf[i] as number, from);
        const e = buf[i + 1] as number;
        if (e <= s) continue;
        openToday = true;
        if (left <= e - s) return s + left;
        left -= e - s;
      }
      if (openToday || d < first + 3) closedInARow = 0;
      else if (++closedInARow >= ADD_CLOSED_DAYS_HORIZON) return null;
    }
    return null;
  }

  /** addMs for Dates. */
  add(from: Date, amount: number): Date | null {
    const t = this.addMs(ms(from), amount);
    return t === null ? null : new Date(t);
  }

  /** See explainSpans. */
  explain(from: Date, to: Date, limit: number = EXPLAIN_LIMIT): Span[] {
    const f = ms(from);
    const t = ms(to);
    const max = Math.max(1, Math.floor(Number.isFinite(limit) ? limit : EXPLAIN_LIMIT));
    const out: Span[] = [];
    if (!(t > f)) return out;
    // Pieces as numbers while building; the last one is kept open for merging.
    let curFrom = 0;
    let curTo = 0;
    let curWhy: Span['why'] | null = null;
    let full = false;
    const flush = () => {
      if (curWhy !== null) out.push({ from: new Date(curFrom), to: new Date(curTo), open: curWhy === 'open', why: curWhy });
    };
    const piece = (a: number, b: number, why: Span['why']): boolean => {
      const s = Math.max(a, f);
      const e = Math.min(b, t);
      if (e <= s) return true;
      if (curWhy === why && curTo === s) {
        curTo = e;
        return true;
      }
      if (curWhy !== null && out.length + 1 >= max) {
        full = true;
        return false;
      }
      flush();
      curFrom = s;
      curTo = e;
      curWhy = why;
      return true;
    };
    const buf = scratch;
    const last = Math.floor(t / DAY) + 1;
    walk: for (let d = Math.floor(f / DAY) - 1; d <= last; d++) {
      const ds = this.dayStart(d);
      const de = this.dayStart(d + 1);
      if (de <= f || ds >= t) continue;
      if (this.holidays.has(d)) {
        if (!piece(ds, de, 'holiday')) break walk;
        continue;
      }
      const n = this.openIntervals(d, buf);
      let cursor = ds;
      for (let i = 0; i < n; i += 2) {
        const s = buf[i] as number;
        const e = buf[i + 1] as number;
        if (!piece(cursor, s, 'outside-hours')) break walk;
        if (!piece(s, e, 'open')) break walk;
        cursor = e;
      }
      if (!piece(cursor, de, 'outside-hours')) break walk;
    }
    flush();
    if (full) (out[out.length - 1] as Span).truncated = true;
    return out;
  }
}

// The intervals of one day while a computation walks the days (single-threaded, never nested).
const scratch: number[] = [];

function ms(d: Date): number {
  const t = d instanceof Date ? d.getTime() : NaN;
  if (Number.isNaN(t)) throw new RangeError('Invalid date.');
  return t;
}

/** A calendar ready for many computations; throws a RangeError with checkCalendar's message when invalid. */
export function compileCalendar(cal: Calendar): BusinessCalendar {
  return new BusinessCalendar(cal);
}

/** Business time in ms inside [from, to); 0 when to ≤ from. Throws a RangeError for an invalid calendar. */
export function businessMsBetween(cal: Calendar, from: Date, to: Date): number {
  return compileCalendar(cal).msBetween(from, to);
}

/**
 * The earliest instant t ≥ from with businessMsBetween(cal, from, t) === ms. For ms = 0 that is
 * `from` itself, even outside the open hours (nothing needs to be added). For ms > 0 the result
 * is always inside or at the end of an open span (never at the start of one: that would need
 * 0 ms more). A fraction of a ms is rounded up; a negative or non-finite ms throws a RangeError.
 * null when not reached within the horizon: about three years (ADD_CLOSED_DAYS_HORIZON days)
 * without any open time in a row (holidays can close everything), or ADD_MAX_DAYS days in all.
 */
export function addBusinessMs(cal: Calendar, from: Date, ms: number): Date | null {
  return compileCalendar(cal).add(from, ms);
}

/**
 * [from, to) cut into consecutive pieces, each open or closed, and why: 'open', 'outside-hours'
 * or 'holiday' (a holiday's whole local date, whatever the weekly hours say). Adjacent pieces of
 * the same `why` are merged (a night shift 22:00–24:00 + 00:00–02:00 is one open piece). The
 * pieces are contiguous and cover [from, to) exactly, unless there would be more than `limit`
 * (default 500, at least 1): then the first `limit` pieces are returned and the last one carries
 * `truncated: true` (the list stops at its `to`; "…and more"). [] when to ≤ from.
 */
export function explainSpans(cal: Calendar, from: Date, to: Date, limit: number = EXPLAIN_LIMIT): Span[] {
  return compileCalendar(cal).explain(from, to, limit);
}
