// How a ticket's SLA due time reads in the queue and on the ticket page: in words (never colour
// alone), with a class for the colour: overdue, due within the hour, later, paused.
import { formatSpanOfTime } from '../../domain/sla-format.js';
import type { TicketStatus } from '../../domain/enums.js';
import type { TicketSla } from '../../services/sla/explain.js';
import { when } from './time.js';

export interface DueShown {
  text: string;
  cls: 'sla-overdue' | 'sla-soon' | 'sla-ok' | 'sla-paused';
  /** The due moment (ISO), for a <time> element; null when paused. */
  at: string | null;
}

const SOON_MS = 3600_000;

export function dueShown(dueAt: Date | null, policyId: number | null, status: TicketStatus, now: Date): DueShown | null {
  if (!dueAt) {
    return policyId !== null && status === 'WAITING_ON_CUSTOMER' ? { text: 'Paused: waiting on the customer', cls: 'sla-paused', at: null } : null;
  }
  const left = dueAt.getTime() - now.getTime();
  if (left <= 0) return { text: `Overdue by ${formatSpanOfTime(-left)}`, cls: 'sla-overdue', at: dueAt.toISOString() };
  return { text: `Due in ${formatSpanOfTime(left)}`, cls: left <= SOON_MS ? 'sla-soon' : 'sla-ok', at: dueAt.toISOString() };
}


const TARGET_NAME = { FIRST_RESPONSE: 'First response', NEXT_RESPONSE: 'Next response', RESOLUTION: 'Resolution' } as const;
const WHY_TEXT = {
  counted: 'counted',
  'outside-hours': 'outside business hours',
  holiday: 'holiday',
  'waiting-on-customer': 'paused: waiting on the customer',
  resolved: 'stopped: resolved',
} as const;
const MET_BY = { 'staff-reply': 'by a reply to the customer', resolved: 'by the resolution', 'created-by-staff': 'at creation (logged by a technician with the customer)' } as const;

/** The ticket page's SLA panel: each clock in words, times in the user's zone. */
export function slaPanel(sla: TicketSla | null, now: Date, zone: string) {
  if (!sla) return null;
  return {
    policyName: sla.policyName,
    hours: sla.calendarName ? `${sla.calendarName} (${sla.timeZone})` : 'around the clock',
    warnPercent: sla.warnPercent,
    clocks: sla.clocks.map((e) => {
      const c = e.clock;
      const counted = e.stretches.filter((s) => s.why === 'counted').reduce((n, s) => n + (s.to.getTime() - s.from.getTime()), 0);
      const used = c.metAt ? c.consumedMs : Math.max(c.consumedMs, counted);
      const met = c.state === 'met';
      const late = met ? c.breachedAt !== null : c.dueAt !== null && c.dueAt <= now;
      const state = met
        ? late
          ? `Met late, ${MET_BY[c.metBy ?? 'staff-reply']}`
          : `Met ${MET_BY[c.metBy ?? 'staff-reply']}`
        : c.state === 'paused'
          ? 'Paused: waiting on the customer'
          : late
            ? `Overdue by ${formatSpanOfTime(now.getTime() - c.dueAt!.getTime())}`
            : c.dueAt
              ? `Due in ${formatSpanOfTime(c.dueAt.getTime() - now.getTime())}`
              : 'Running';
      return {
        name: TARGET_NAME[e.kind] + (e.kind === 'NEXT_RESPONSE' ? ` #${e.cycle}` : ''),
        cls: met ? (late ? 'sla-breached' : 'sla-met') : late ? 'sla-overdue' : c.state === 'paused' ? 'sla-paused' : 'sla-running',
        state,
        target: formatSpanOfTime(c.targetMs),
        used: formatSpanOfTime(used),
        started: when(c.startedAt, zone),
        startedIso: c.startedAt.toISOString(),
        due: c.dueAt ? when(c.dueAt, zone) : null,
        dueIso: c.dueAt?.toISOString() ?? null,
        met: c.metAt ? when(c.metAt, zone) : null,
        breached: c.breachedAt && (met || c.breachedAt <= now) ? when(c.breachedAt, zone) : null,
        acted: e.acted.map((a) => ({ phase: a.phase === 'breach' ? 'Breach acted on' : 'Warning sent', at: when(a.at, zone) })),
        stretches: e.stretches.map((s) => ({
          from: when(s.from, zone),
          to: when(s.to, zone),
          length: formatSpanOfTime(s.to.getTime() - s.from.getTime()),
          why: WHY_TEXT[s.why],
          counted: s.why === 'counted',
        })),
        truncated: e.truncated,
      };
    }),
  };
}
