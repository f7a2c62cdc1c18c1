import { DEFAULT_TIME_ZONE } from '../../domain/time-zones.js';

export { DEFAULT_TIME_ZONE };
const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

/**
 * One formatter per zone, made on first use and kept: creating an Intl.DateTimeFormat costs far
 * more than formatting with one. At most MAX_FORMATTERS zones are kept (the oldest goes first);
 * the names come from the validated list, so there are ~420 at most anyway.
 */
const MAX_FORMATTERS = 64;
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      day: 'numeric',
      month: 'short',
      year: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZone: zone,
      timeZoneName: 'longOffset',
    });
    if (formatters.size >= MAX_FORMATTERS) formatters.delete(formatters.keys().next().value!);
    formatters.set(zone, f);
  }
  return f;
}

/** "+05:30" style offset from Intl's "GMT+05:30" ("GMT" alone is UTC itself). */
const offsetOf = (gmt: string) => (gmt === 'GMT' ? '+00:00' : gmt.replace(/^GMT/, ''));

const STEPS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600],
  ['month', 30 * 24 * 3600],
  ['week', 7 * 24 * 3600],
  ['day', 24 * 3600],
  ['hour', 3600],
  ['minute', 60],
];

/** "3 hours ago"; "just now" under a minute. */
export function ago(date: Date, now = new Date()): string {
  const seconds = Math.round((date.getTime() - now.getTime()) / 1000);
  for (const [unit, size] of STEPS) {
    if (Math.abs(seconds) >= size) return rtf.format(Math.trunc(seconds / size), unit);
  }
  return 'just now';
}

/** A short age for queue rows: 45m, 3h, 12d. */
export function age(date: Date, now = new Date()): string {
  const m = Math.max(0, Math.floor((now.getTime() - date.getTime()) / 60_000));
  if (m < 60) return `${m}m`;
  if (m < 48 * 60) return `${Math.floor(m / 60)}h`;
  return `${Math.floor(m / 1440)}d`;
}

/**
 * A date and time in a zone, with the zone's offset at that moment so that it is never
 * ambiguous: "7 Dec 2026, 16:00 UTC+05:30"; in UTC itself "7 Dec 2026, 10:30 UTC" (customer
 * pages always, staff who chose no zone).
 */
export function when(date: Date, zone = DEFAULT_TIME_ZONE): string {
  const ms = date.getTime();
  if (zone === DEFAULT_TIME_ZONE) return utc(date);
  // Formatting in a zone (Intl's formatToParts) costs ~15 µs, and a queue page shows 50 times:
  // kept by zone and minute (the pages show minutes), a bounded number.
  const key = `${zone}|${Math.floor(ms / 60_000)}`;
  const hit = zoned.get(key);
  if (hit !== undefined) return hit;
  let text = '';
  let name = '';
  for (const part of formatter(zone).formatToParts(date)) {
    if (part.type === 'timeZoneName') name = part.value;
    else text += part.value;
  }
  const shown = `${text.trimEnd()} UTC${offsetOf(name)}`;
  if (zoned.size >= 20_000) zoned.clear();
  zoned.set(key, shown);
  return shown;
}

const zoned = new Map<string, string>();
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => (n < 10 ? `0${n}` : String(n));

/** The same text in UTC without Intl (what most pages show: customers' always), as en-GB writes it. */
function utc(d: Date): string {
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}, ${two(d.getUTCHours())}:${two(d.getUTCMinutes())} UTC`;
}

/** The zone as the page footer names it: "Asia/Calcutta (UTC+05:30 now)", or "UTC". */
export function zoneLabel(zone: string, now = new Date()): string {
  if (zone === DEFAULT_TIME_ZONE) return 'UTC';
  const name = formatter(zone).formatToParts(now).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  return `${zone} (UTC${offsetOf(name)} now)`;
}
