// The SLA clock of a ticket, DERIVED from its history (never kept as a counter): the same events
// always give the same clocks, whenever they are computed. computeSla does not look at "now";
// whether a running clock is overdue is the caller's `dueAt <= now`.
//
// The rules:
// - Clocks count business time only (the calendar, business-hours.ts), and only while the ticket's
//   status is NEW, OPEN or IN_PROGRESS. WAITING_ON_CUSTOMER pauses every running clock (a pause
//   entry with its reason); leaving it for NEW/OPEN/IN_PROGRESS resumes them with the time they
//   had. A pause never consumes time.
// - FIRST_RESPONSE (cycle 1) starts at creation. Met by the first staff reply (metBy
//   'staff-reply'), or by the ticket being resolved or closed (the resolution mail answers the
//   customer; 'resolved'). A ticket created by staff (a technician logged it while talking to the
//   customer) has it met at creation ('created-by-staff', consumed 0).
// - NEXT_RESPONSE: once the customer has had a first response (by any of the three ways above,
//   whether or not there is a first-response target), a customer message starts a new cycle
//   (1, 2, …) unless one is already running or paused: the customer waits since their first
//   unanswered message. Met by the next staff reply, or by resolution. A customer message while
//   the first response is still due starts nothing.
//   A customer message while the ticket is RESOLVED/CLOSED starts nothing at once; if the ticket
//   is then reopened before a staff reply, a cycle starts at the reopening (the moment its clock
//   can run). A staff reply while resolved has no other effect than answering such a message.
// - RESOLUTION (cycle 1) starts at creation and is met when the status becomes RESOLVED or
//   CLOSED (metAt = that moment; RESOLVED → CLOSED changes nothing). A reopening (RESOLVED →
//   OPEN, …) RESUMES the same clock: running again (or paused, when reopened to
//   WAITING_ON_CUSTOMER), metAt cleared, the time consumed before still counted, so a reopened
//   ticket can be overdue at once. The resolved stretches are listed in the clock's `stops`
//   (not in `pauses`, which are only the customer's waits). Response clocks stay met.
// - Met in time means consumed ≤ target (an answer exactly at the target is in time).
//   breachedAt is the first instant consumed time reached the target: on a met clock only when it
//   was met late (consumed > target); on a paused clock when consumed ≥ target; on a running
//   clock it is always = dueAt (the instant the target is or will be reached; it has happened
//   when ≤ now).
// - dueAt (running clocks only): the instant the target is reached if the clock keeps running
//   from the last event on: consumed + business time from the last event to dueAt = target; when
//   the target was already reached, the instant it was (in the past: overdue). null when the
//   calendar has no open time within addBusinessMs' horizon.
// - A target that is null produces no clock. A target of 0 is reached at the clock's start.
// - Events are in time order; events with the same timestamp apply in the given order.
//   Events before the 'created' event are ignored; no 'created' event, a second one, an invalid
//   date, an event earlier than the one before it, or a negative target throw a RangeError.
//   Repeated statuses change nothing; staff replies while resolved are ignored by the clocks.
// Cost: linear in events × days spanned (each clock's counted stretches are disjoint).
import type { TicketStatus } from '../generated/prisma/enums.js';
import { BusinessCalendar, compileCalendar, type Calendar } from './business-hours.js';

export type SlaTargetKind = 'FIRST_RESPONSE' | 'NEXT_RESPONSE' | 'RESOLUTION';
export interface SlaTargets {
  firstResponseMs: number | null;
  nextResponseMs: number | null;
  resolutionMs: number | null;
} // null = no such target
export type ClockEvent =
  | { kind: 'created'; at: Date; status: TicketStatus; byStaff: boolean } // always the first event
  | { kind: 'status'; at: Date; to: TicketStatus }
  | { kind: 'staff-reply'; at: Date } // a reply sent to the customer (a public response)
  | { kind: 'customer-message'; at: Date }; // the customer wrote (mail, web page)
export type PauseReason = 'WAITING_ON_CUSTOMER';
export interface ClockPause {
  from: Date;
  to: Date | null;
  reason: PauseReason;
}
/** A stretch the ticket was resolved or closed (RESOLUTION clocks only; `to` null: still is). */
export interface ClockStop {
  from: Date;
  to: Date | null;
}
export interface TargetClock {
  kind: SlaTargetKind;
  cycle: number; // 1 for first response/resolution; next response: 1, 2, … one per customer message that started it
  startedAt: Date;
  targetMs: number;
  consumedMs: number; // business time counted so far (up to metAt, or up to the last event while running or paused)
  state: 'running' | 'paused' | 'met' | 'stopped'; // 'stopped' is not produced by these rules (kept for callers)
  dueAt: Date | null; // while running: the instant the target is reached if it keeps running (may be in the past = overdue); null when paused/met
  metAt: Date | null;
  breachedAt: Date | null; // see the module header
  pauses: ClockPause[];
  /** The resolved stretches of a RESOLUTION clock (a reopening resumes it); [] on the others. */
  stops: ClockStop[];
  metBy?: 'staff-reply' | 'resolved' | 'created-by-staff'; // why it was met
}
export interface SlaComputation {
  clocks: TargetClock[]; // every cycle, in order of start
  firstResponseDueAt: Date | null; // the running clock's dueAt for each kind, else null
  nextResponseDueAt: Date | null;
  resolutionDueAt: Date | null;
  dueAt: Date | null; // the earliest of the three (what the queue sorts by)
}

type Phase = 'active' | 'waiting' | 'resolved';
function phaseOf(status: TicketStatus): Phase {
  if (status === 'WAITING_ON_CUSTOMER') return 'waiting';
  if (status === 'RESOLVED' || status === 'CLOSED') return 'resolved';
  return 'active';
}

/** A clock while the history is replayed: times as epoch ms. */
class Live {
  consumed = 0;
  countingSince: number | null = null;
  reachedAt: number | null = null;
  state: TargetClock['state'];
  metAt: number | null = null;
  metBy: TargetClock['metBy'];
  readonly pauses: { from: number; to: number | null }[] = [];
  readonly stops: { from: number; to: number | null }[] = [];

  constructor(
    private readonly cal: BusinessCalendar,
    readonly kind: SlaTargetKind,
    readonly cycle: number,
    readonly startedAt: number,
    readonly target: number,
    phase: Exclude<Phase, 'resolved'>,
  ) {
    if (target === 0) this.reachedAt = startedAt;
    if (phase === 'active') {
      this.state = 'running';
      this.countingSince = startedAt;
    } else {
      this.state = 'paused';
      this.pauses.push({ from: startedAt, to: null });
    }
  }

  get open(): boolean {
    return this.state === 'running' || this.state === 'paused';
  }

  /** Counts the running stretch up to `at` (keeps counting when `keep`). */
  private count(at: number, keep: boolean): void {
    const since = this.countingSince;
    if (since === null) return;
    const seg = this.cal.msBetweenMs(since, at);
    if (this.reachedAt === null && this.consumed + seg >= this.target) {
      this.reachedAt = this.cal.addMs(since, this.target - this.consumed);
    }
    this.consumed += seg;
    this.countingSince = keep ? at : null;
  }

  pause(at: number): void {
    if (this.state !== 'running') return;
    this.count(at, false);
    this.state = 'paused';
    this.pauses.push({ from: at, to: null });
  }

  resume(at: number): void {
    if (this.state !== 'paused') return;
    const p = this.pauses[this.pauses.length - 1];
    if (p && p.to === null) p.to = at;
    this.state = 'running';
    this.countingSince = at;
  }

  meet(at: number, by: NonNullable<TargetClock['metBy']>): void {
    if (!this.open) return;
    if (this.state === 'running') this.count(at, false);
    else this.resume(at);
    this.countingSince = null;
    this.state = 'met';
    this.metAt = at;
    this.metBy = by;
  }

  /** Resolution only: met by resolving, remembered as a stop. */
  stop(at: number): void {
    if (!this.open) return;
    this.meet(at, 'resolved');
    this.stops.push({ from: at, to: null });
  }

  /** Resolution only: a reopening resumes the clock. */
  reopen(at: number, phase: Exclude<Phase, 'resolved'>): void {
    if (this.state !== 'met') return;
    const s = this.stops[this.stops.length - 1];
    if (s && s.to === null) s.to = at;
    this.metAt = null;
    this.metBy = undefined;
    if (phase === 'active') {
      this.state = 'running';
      this.countingSince = at;
    } else {
      this.state = 'paused';
      this.pauses.push({ from: at, to: null });
    }
  }

  result(lastAt: number): TargetClock {
    if (this.state === 'running') this.count(lastAt, true);
    let dueAt: number | null = null;
    let breachedAt: number | null = null;
    if (this.state === 'running') {
      dueAt = this.reachedAt ?? this.cal.addMs(lastAt, this.target - this.consumed);
      breachedAt = dueAt;
    } else if (this.state === 'paused') {
      breachedAt = this.consumed >= this.target ? this.reachedAt : null;
    } else {
      breachedAt = this.consumed > this.target ? this.reachedAt : null;
    }
    const date = (t: number | null) => (t === null ? null : new Date(t));
    const clock: TargetClock = {
      kind: this.kind,
      cycle: this.cycle,
      startedAt: new Date(this.startedAt),
      targetMs: this.target,
      consumedMs: this.consumed,
      state: this.state,
      dueAt: date(dueAt),
      metAt: date(this.metAt),
      breachedAt: date(breachedAt),
      pauses: this.pauses.map((p) => ({ from: new Date(p.from), to: date(p.to), reason: 'WAITING_ON_CUSTOMER' as const })),
      stops: this.stops.map((s) => ({ from: new Date(s.from), to: date(s.to) })),
    };
    if (this.metBy !== undefined) clock.metBy = this.metBy;
    return clock;
  }
}

function checkTarget(name: string, v: number | null): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`The ${name} target must be a number of ms ≥ 0, or null.`);
  return Math.ceil(v);
}

function timeOf(e: ClockEvent): number {
  const t = e.at instanceof Date ? e.at.getTime() : NaN;
  if (Number.isNaN(t)) throw new RangeError(`A '${e.kind}' event has an invalid date.`);
  return t;
}

/**
 * The SLA clocks a ticket's history gives, under the targets and the calendar (see the module
 * header for the rules). Pure: the same arguments always give the same result.
 * The calendar may be a Calendar or one compiled with compileCalendar (faster when many tickets
 * share one).
 */
export function computeSla(events: readonly ClockEvent[], targets: SlaTargets, cal: Calendar | BusinessCalendar): SlaComputation {
  const bc = cal instanceof BusinessCalendar ? cal : compileCalendar(cal);
  const firstMs = checkTarget('first response', targets.firstResponseMs);
  const nextMs = checkTarget('next response', targets.nextResponseMs);
  const resolutionMs = checkTarget('resolution', targets.resolutionMs);

  const start = events.findIndex((e) => e.kind === 'created');
  if (start < 0) throw new RangeError("A ticket's history must have a 'created' event.");

  const clocks: Live[] = [];
  let first: Live | null = null;
  let resolution: Live | null = null;
  let next: Live | null = null; // the open next-response cycle
  let cycles = 0;
  let firstAnswered = false;
  let pendingCustomer = false; // a customer message while resolved, not answered yet
  let phase: Phase = 'active';
  const resolved = () => phase === 'resolved'; // (read through a function: `enter` changes it)
  let last = -Infinity;

  const startNext = (at: number) => {
    if (nextMs === null || next !== null || phase === 'resolved') return;
    cycles += 1;
    next = new Live(bc, 'NEXT_RESPONSE', cycles, at, nextMs, phase);
    clocks.push(next);
  };
  const enter = (to: Phase, at: number) => {
    const from = phase;
    if (to === from) return;
    phase = to;
    if (to === 'resolved') {
      if (first?.open) first.meet(at, 'resolved');
      firstAnswered = true;
      if (next?.open) next.meet(at, 'resolved');
      next = null;
      resolution?.stop(at);
      pendingCustomer = false;
      return;
    }
    if (from === 'resolved') {
      resolution?.reopen(at, to);
      if (pendingCustomer) startNext(at);
      pendingCustomer = false;
      return;
    }
    for (const c of [first, resolution, next]) {
      if (c === null) continue;
      if (to === 'waiting') c.pause(at);
      else c.resume(at);
    }
  };

  for (let i = start; i < events.length; i++) {
    const e = events[i] as ClockEvent;
    const at = timeOf(e);
    if (at < last) throw new RangeError(`Events must be in time order: a '${e.kind}' event at ${e.at.toISOString()} follows one at ${new Date(last).toISOString()}.`);
    last = at;
    switch (e.kind) {
      case 'created': {
        if (i !== start) throw new RangeError("A ticket's history has a second 'created' event.");
        const p = phaseOf(e.status);
        const startPhase = p === 'resolved' ? 'active' : p;
        phase = startPhase;
        if (firstMs !== null) {
          first = new Live(bc, 'FIRST_RESPONSE', 1, at, firstMs, e.byStaff ? 'active' : startPhase); // (no empty pause when met at once)
          clocks.push(first);
          if (e.byStaff) first.meet(at, 'created-by-staff');
        }
        firstAnswered = e.byStaff;
        if (resolutionMs !== null) {
          resolution = new Live(bc, 'RESOLUTION', 1, at, resolutionMs, startPhase);
          clocks.push(resolution);
        }
        enter(p, at);
        break;
      }
      case 'status':
        enter(phaseOf(e.to), at);
        break;
      case 'staff-reply':
        if (resolved()) {
          pendingCustomer = false;
        } else if (!firstAnswered) {
          firstAnswered = true;
          first?.meet(at, 'staff-reply');
        } else {
          const n = next as Live | null;
          n?.meet(at, 'staff-reply');
          next = null;
        }
        break;
      case 'customer-message':
        if (!firstAnswered) break;
        if (resolved()) pendingCustomer = true;
        else startNext(at);
        break;
    }
  }

  const result = clocks.map((c) => c.result(last));
  const dueOf = (kind: SlaTargetKind) => result.find((c) => c.kind === kind && c.state === 'running')?.dueAt ?? null;
  const firstResponseDueAt = dueOf('FIRST_RESPONSE');
  const nextResponseDueAt = dueOf('NEXT_RESPONSE');
  const resolutionDueAt = dueOf('RESOLUTION');
  let dueAt: Date | null = null;
  for (const d of [firstResponseDueAt, nextResponseDueAt, resolutionDueAt]) {
    if (d !== null && (dueAt === null || d.getTime() < dueAt.getTime())) dueAt = d;
  }
  return { clocks: result, firstResponseDueAt, nextResponseDueAt, resolutionDueAt, dueAt };
}
