// The ticket page's SLA timeline: each target's clock as the history gives it, cut into the
// stretches that counted (business hours while the ticket needed work) and those that did not
// (outside hours, a holiday, waiting on the customer, resolved), so every minute is accounted for;
// plus the warnings and breaches the SLA job acted on.
import type { ClosedWhy, Span } from '../../domain/business-hours.js';
import type { SlaTargetKind, TargetClock } from '../../domain/sla-clock.js';
import type { ServiceContext } from '../context.js';
import { assertCan } from '../policy.js';
import { readSla } from './recompute.js';

export type StretchWhy = 'counted' | ClosedWhy | 'waiting-on-customer' | 'resolved';

export interface Stretch {
  from: Date;
  to: Date;
  why: StretchWhy;
}

export interface ExplainedClock {
  kind: SlaTargetKind;
  cycle: number;
  clock: TargetClock;
  /** From the clock's start to its end (met) or to now, every stretch and whether it counted. */
  stretches: Stretch[];
  /** More stretches than shown (a long-open ticket): the first ones are listed. */
  truncated: boolean;
  /** The SLA job's acts on this cycle: warning, breach. */
  acted: { phase: string; at: Date }[];
}

export interface TicketSla {
  policyName: string;
  calendarName: string | null;
  timeZone: string;
  warnPercent: number;
  clocks: ExplainedClock[];
}

const MAX_STRETCHES = 200;

/** Cuts [from, to) by the calendar's open/closed spans and the clock's pauses and stops. */
function stretchesOf(clock: TargetClock, explain: (from: Date, to: Date) => Span[], end: Date) {
  const from = clock.startedAt;
  if (end <= from) return { stretches: [], truncated: false };
  const off: { from: number; to: number; why: StretchWhy }[] = [
    ...clock.pauses.map((p) => ({ from: p.from.getTime(), to: (p.to ?? end).getTime(), why: 'waiting-on-customer' as const })),
    ...clock.stops.map((s) => ({ from: s.from.getTime(), to: (s.to ?? end).getTime(), why: 'resolved' as const })),
  ].sort((a, b) => a.from - b.from);
  const spans = explain(from, end);
  const out: Stretch[] = [];
  let truncated = spans.at(-1)?.truncated === true;
  const push = (a: number, b: number, why: StretchWhy) => {
    if (b <= a) return;
    const last = out.at(-1);
    if (last && last.why === why && last.to.getTime() === a) last.to = new Date(b);
    else out.push({ from: new Date(a), to: new Date(b), why });
  };
  for (const span of spans) {
    let at = span.from.getTime();
    const stop = span.to.getTime();
    // Within the span, the pauses and stops take precedence over the calendar.
    for (const o of off) {
      if (o.to <= at || o.from >= stop) continue;
      push(at, Math.max(at, o.from), span.open ? 'counted' : (span.why as ClosedWhy));
      push(Math.max(at, o.from), Math.min(stop, o.to), o.why);
      at = Math.min(stop, o.to);
    }
    push(at, stop, span.open ? 'counted' : (span.why as ClosedWhy));
    if (out.length >= MAX_STRETCHES) {
      truncated = true;
      break;
    }
  }
  return { stretches: out.slice(0, MAX_STRETCHES), truncated };
}

/** The ticket's SLA clocks explained (null when no policy applies). */
export async function explainTicketSla(ctx: ServiceContext, ticketId: number, now = new Date()): Promise<TicketSla | null> {
  assertCan(ctx.actor, 'ticket.read');
  const result = (await readSla(ctx.db, [ticketId])).get(ticketId);
  if (!result?.policy || !result.computation) return null;
  const { policy, computation } = result;
  const acted = await ctx.db.slaEvent.findMany({ where: { ticketId }, orderBy: { createdAt: 'asc' } });
  const explain = (from: Date, to: Date) => policy.calendar.explain(from, to);
  return {
    policyName: policy.name,
    calendarName: policy.calendarName,
    timeZone: policy.calendar.timeZone,
    warnPercent: policy.warnPercent,
    clocks: computation.clocks.map((clock) => {
      const end = clock.metAt ?? now;
      return {
        kind: clock.kind,
        cycle: clock.cycle,
        clock,
        ...stretchesOf(clock, explain, end),
        acted: acted.filter((a) => a.target === clock.kind && a.cycle === clock.cycle).map((a) => ({ phase: a.phase, at: a.createdAt })),
      };
    }),
  };
}
