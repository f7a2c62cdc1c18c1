// How people write SLA settings in forms, and how pages show them back: working hours as
// "08:00-12:00, 13:00-17:00" per weekday, targets as "30m", "4h", "1d 2h" (business time).
import type { OpenSpan } from './business-hours.js';

/** The longest target accepted: a year of business minutes. */
export const MAX_TARGET_MINUTES = 365 * 24 * 60;

const SPAN = /^(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})$/;

/**
 * A weekday's open spans from "08:00-12:00, 13:00-17:30" ("" or "closed": none; "24h": all day).
 * Returns a message instead when the text is not that; order and overlaps are checkCalendar's.
 */
export function parseSpans(text: string): OpenSpan[] | string {
  const t = text.trim().toLowerCase();
  if (t === '' || t === 'closed') return [];
  if (t === '24h' || t === '24 h') return [{ start: 0, end: 1440 }];
  if (t.length > 200) return 'Too long: at most a few spans a day.';
  const spans: OpenSpan[] = [];
  for (const part of t.split(',')) {
    const m = SPAN.exec(part.trim());
    if (!m) return `"${part.trim().slice(0, 20)}" is not a span like 08:00-18:00.`;
    const [h1, m1, h2, m2] = [m[1], m[2], m[3], m[4]].map(Number) as [number, number, number, number];
    if (h1 > 24 || h2 > 24 || m1 > 59 || m2 > 59) return `"${part.trim()}" is not a time of day.`;
    const start = h1 * 60 + m1;
    const end = h2 * 60 + m2;
    if (start >= 1440 || end > 1440 || end <= start) return `"${part.trim()}" must end after it starts, within the day (up to 24:00).`;
    spans.push({ start, end });
  }
  return spans;
}

const hhmm = (minutes: number) => `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

/** The spans as the form writes them. */
export function formatSpans(spans: readonly OpenSpan[]): string {
  if (spans.length === 0) return '';
  if (spans.length === 1 && spans[0]!.start === 0 && spans[0]!.end === 1440) return '24h';
  return spans.map((s) => `${hhmm(s.start)}-${hhmm(s.end)}`).join(', ');
}

const DURATION = /^(?:(\d{1,6})\s*d)?\s*(?:(\d{1,6})\s*h)?\s*(?:(\d{1,6})\s*m(?:in)?)?$/;

/**
 * Minutes from "30m", "4h", "1d 2h", "90" (plain minutes); null for "" (no target); a message
 * when it is not a duration or is out of range. A day is 24 hours of business time.
 */
export function parseDuration(text: string): number | null | string {
  const t = text.trim().toLowerCase();
  if (t === '') return null;
  if (t.length > 30) return 'Write a duration like 30m, 4h or 1d 2h.';
  let minutes: number;
  if (/^\d{1,7}$/.test(t)) minutes = Number(t);
  else {
    const m = DURATION.exec(t);
    if (!m || (!m[1] && !m[2] && !m[3])) return `"${t.slice(0, 20)}" is not a duration like 30m, 4h or 1d 2h.`;
    minutes = Number(m[1] ?? 0) * 1440 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
  }
  if (minutes < 1) return 'A target is at least one minute.';
  if (minutes > MAX_TARGET_MINUTES) return 'A target is at most 365 days.';
  return minutes;
}

/** Minutes as the form writes them: "1d 2h 30m", "4h", "30m". */
export function formatDuration(minutes: number | null | undefined): string {
  if (!minutes) return '';
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  return [d ? `${d}d` : '', h ? `${h}h` : '', m ? `${m}m` : ''].filter(Boolean).join(' ');
}

/** A span of milliseconds in words for people: "2 h 05 min", "45 min", "3 d 4 h". */
export function formatSpanOfTime(ms: number): string {
  const minutes = Math.round(Math.abs(ms) / 60_000);
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  if (d) return h ? `${d} d ${h} h` : `${d} d`;
  if (h) return `${h} h ${String(m).padStart(2, '0')} min`;
  return `${m} min`;
}
