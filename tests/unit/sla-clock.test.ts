// The SLA clock derived from a ticket's history: examples of each rule, and properties over random
// histories and calendars (tests/helpers/calendar-arbitraries.ts: PROP_SEED, PROP_RUNS).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALWAYS_OPEN, businessMsBetween, compileCalendar, type Calendar, type OpenSpan } from '../../src/domain/business-hours.js';
import { computeSla, type ClockEvent, type SlaTargets, type TargetClock } from '../../src/domain/sla-clock.js';
import type { TicketStatus } from '../../src/generated/prisma/enums.js';
import { DAY, calendarArb, historyArb, propParams, targetsArb } from '../helpers/calendar-arbitraries.js';

const MIN = 60_000;
const H = 60 * MIN;
const z = (iso: string) => new Date(iso);
const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);
const office: OpenSpan[] = [{ start: 480, end: 1080 }];
const BERLIN: Calendar = { timeZone: 'Europe/Berlin', hours: { 1: office, 2: office, 3: office, 4: office, 5: office, 6: [], 7: [] }, holidays: [] };
const ALL: SlaTargets = { firstResponseMs: 30 * MIN, nextResponseMs: H, resolutionMs: 8 * H };

const created = (at: string, status: TicketStatus = 'NEW', byStaff = false): ClockEvent => ({ kind: 'created', at: z(at), status, byStaff });
const status = (at: string, to: TicketStatus): ClockEvent => ({ kind: 'status', at: z(at), to });
const reply = (at: string): ClockEvent => ({ kind: 'staff-reply', at: z(at) });
const customer = (at: string): ClockEvent => ({ kind: 'customer-message', at: z(at) });
const clock = (r: { clocks: TargetClock[] }, kind: TargetClock['kind'], cycle = 1) => r.clocks.find((c) => c.kind === kind && c.cycle === cycle);

describe('first response', () => {
  it('created Friday 17:50 in Berlin office hours, 30 minutes: due Monday 08:20', () => {
    const r = computeSla([created('2026-12-04T16:50:00Z')], ALL, BERLIN);
    expect(iso(r.firstResponseDueAt)).toBe('2026-12-07T07:20:00.000Z');
    const first = clock(r, 'FIRST_RESPONSE')!;
    expect(first).toMatchObject({ state: 'running', consumedMs: 0, metAt: null, pauses: [], stops: [], cycle: 1 });
    expect(iso(first.breachedAt)).toBe(iso(first.dueAt)); // while running, = dueAt
    expect(iso(r.dueAt)).toBe('2026-12-07T07:20:00.000Z'); // the earliest of the three
    expect(iso(r.resolutionDueAt)).toBe('2026-12-07T14:50:00.000Z'); // 10 min Friday + 7 h 50 Monday
    expect(r.nextResponseDueAt).toBeNull();
  });

  it('is met by the first staff reply; late when consumed > target', () => {
    const r = computeSla([created('2026-12-04T16:50:00Z'), reply('2026-12-07T07:30:00Z')], ALL, BERLIN);
    expect(clock(r, 'FIRST_RESPONSE')).toMatchObject({ state: 'met', metBy: 'staff-reply', consumedMs: 40 * MIN, dueAt: null });
    expect(iso(clock(r, 'FIRST_RESPONSE')!.breachedAt)).toBe('2026-12-07T07:20:00.000Z');
    expect(r.firstResponseDueAt).toBeNull();
    // in time (exactly at the target is in time)
    const ok = computeSla([created('2026-12-04T16:50:00Z'), reply('2026-12-07T07:20:00Z')], ALL, BERLIN);
    expect(clock(ok, 'FIRST_RESPONSE')).toMatchObject({ state: 'met', consumedMs: 30 * MIN, breachedAt: null });
  });

  it('a reply on Saturday, after the 30 minutes were used up on Friday, is in time (no business time passed)', () => {
    const r = computeSla([created('2026-12-04T16:30:00Z'), reply('2026-12-05T10:00:00Z')], ALL, BERLIN);
    expect(clock(r, 'FIRST_RESPONSE')).toMatchObject({ consumedMs: 30 * MIN, breachedAt: null, state: 'met' });
  });

  it('a ticket staff logged as waiting on the customer has its first response met without a pause', () => {
    const r = computeSla([created('2026-12-07T08:00:00Z', 'WAITING_ON_CUSTOMER', true)], ALL, BERLIN);
    expect(clock(r, 'FIRST_RESPONSE')).toMatchObject({ state: 'met', metBy: 'created-by-staff', pauses: [] });
    expect(clock(r, 'RESOLUTION')).toMatchObject({ state: 'paused', pauses: [{ from: z('2026-12-07T08:00:00Z'), to: null, reason: 'WAITING_ON_CUSTOMER' }] });
  });

  it('is met at creation when staff logged the ticket; customer messages then start next-response cycles', () => {
    const r = computeSla([created('2026-12-07T08:00:00Z', 'OPEN', true), customer('2026-12-07T09:00:00Z')], ALL, BERLIN);
    expect(clock(r, 'FIRST_RESPONSE')).toMatchObject({ state: 'met', metBy: 'created-by-staff', consumedMs: 0, breachedAt: null });
    expect(iso(clock(r, 'FIRST_RESPONSE')!.metAt)).toBe('2026-12-07T08:00:00.000Z');
    expect(clock(r, 'NEXT_RESPONSE')).toMatchObject({ cycle: 1, state: 'running' });
    expect(iso(r.nextResponseDueAt)).toBe('2026-12-07T10:00:00.000Z');
  });

  it('is met by resolution (the resolution mail answers the customer)', () => {
    const r = computeSla([created('2026-12-07T08:00:00Z'), status('2026-12-07T08:10:00Z', 'RESOLVED')], ALL, BERLIN);
    expect(clock(r, 'FIRST_RESPONSE')).toMatchObject({ state: 'met', metBy: 'resolved', consumedMs: 10 * MIN });
    expect(r.dueAt).toBeNull();
  });

  it('a customer message while the first response is due starts nothing', () => {
    const r = computeSla([created('2026-12-07T08:00:00Z'), customer('2026-12-07T08:05:00Z'), reply('2026-12-07T08:10:00Z')], ALL, BERLIN);
    expect(r.clocks.filter((c) => c.kind === 'NEXT_RESPONSE')).toEqual([]);
  });
});

describe('next response', () => {
  const base = [created('2026-12-07T08:00:00Z'), reply('2026-12-07T08:10:00Z')];

  it('one cycle per unanswered stretch: from the first customer message to the next staff reply', () => {
    const r = computeSla(
      [
        ...base,
        customer('2026-12-07T09:00:00Z'),
        customer('2026-12-07T09:20:00Z'), // still waiting since 09:00
        reply('2026-12-07T09:45:00Z'),
        reply('2026-12-07T09:50:00Z'), // nothing to meet
        customer('2026-12-07T11:00:00Z'),
      ],
      ALL,
      BERLIN,
    );
    const cycles = r.clocks.filter((c) => c.kind === 'NEXT_RESPONSE');
    expect(cycles.map((c) => [c.cycle, iso(c.startedAt), c.state, c.consumedMs])).toEqual([
      [1, '2026-12-07T09:00:00.000Z', 'met', 45 * MIN],
      [2, '2026-12-07T11:00:00.000Z', 'running', 0],
    ]);
    expect(iso(r.nextResponseDueAt)).toBe('2026-12-07T12:00:00.000Z');
    expect(r.clocks.map((c) => c.kind)).toEqual(['FIRST_RESPONSE', 'RESOLUTION', 'NEXT_RESPONSE', 'NEXT_RESPONSE']);
  });

  it('is met by resolution; a customer message to a resolved ticket starts a cycle when it is reopened', () => {
    const r = computeSla(
      [
        ...base,
        customer('2026-12-07T09:00:00Z'),
        status('2026-12-07T09:30:00Z', 'RESOLVED'),
        customer('2026-12-08T09:00:00Z'),
        status('2026-12-08T09:00:00Z', 'OPEN'), // the customer's reply reopens it
      ],
      ALL,
      BERLIN,
    );
    const cycles = r.clocks.filter((c) => c.kind === 'NEXT_RESPONSE');
    expect(cycles.map((c) => [c.cycle, iso(c.startedAt), c.state, c.metBy])).toEqual([
      [1, '2026-12-07T09:00:00.000Z', 'met', 'resolved'],
      [2, '2026-12-08T09:00:00.000Z', 'running', undefined],
    ]);
    // the same with the reopening first
    const r2 = computeSla([...base, status('2026-12-07T09:30:00Z', 'RESOLVED'), status('2026-12-08T09:00:00Z', 'OPEN'), customer('2026-12-08T09:00:00Z')], ALL, BERLIN);
    expect(iso(r2.nextResponseDueAt)).toBe('2026-12-08T10:00:00.000Z');
    // answered while resolved: nothing starts at the reopening
    const r3 = computeSla(
      [...base, status('2026-12-07T09:30:00Z', 'RESOLVED'), customer('2026-12-08T09:00:00Z'), reply('2026-12-08T09:05:00Z'), status('2026-12-08T10:00:00Z', 'OPEN')],
      ALL,
      BERLIN,
    );
    expect(r3.clocks.filter((c) => c.kind === 'NEXT_RESPONSE')).toEqual([]);
  });
});

describe('waiting on the customer', () => {
  it('pauses every running clock; leaving it resumes them with the time they had', () => {
    const r = computeSla(
      [
        created('2026-12-07T08:00:00Z'),
        reply('2026-12-07T08:10:00Z'),
        customer('2026-12-07T08:20:00Z'),
        status('2026-12-07T08:30:00Z', 'WAITING_ON_CUSTOMER'),
        status('2026-12-08T08:30:00Z', 'IN_PROGRESS'),
      ],
      ALL,
      BERLIN,
    );
    const next = clock(r, 'NEXT_RESPONSE')!;
    const res = clock(r, 'RESOLUTION')!;
    for (const c of [next, res]) {
      expect(c.state).toBe('running');
      expect(c.pauses).toEqual([{ from: z('2026-12-07T08:30:00Z'), to: z('2026-12-08T08:30:00Z'), reason: 'WAITING_ON_CUSTOMER' }]);
    }
    expect(next.consumedMs).toBe(10 * MIN);
    expect(res.consumedMs).toBe(30 * MIN);
    expect(iso(r.nextResponseDueAt)).toBe('2026-12-08T09:20:00.000Z');
    expect(iso(r.resolutionDueAt)).toBe('2026-12-08T16:00:00.000Z');
  });

  it('a paused clock has no due time; one already past its target keeps its breachedAt', () => {
    const r = computeSla(
      [created('2026-12-07T08:00:00Z', 'OPEN'), status('2026-12-07T09:00:00Z', 'WAITING_ON_CUSTOMER')],
      ALL,
      BERLIN,
    );
    const first = clock(r, 'FIRST_RESPONSE')!;
    expect(first).toMatchObject({ state: 'paused', dueAt: null, consumedMs: H });
    expect(iso(first.breachedAt)).toBe('2026-12-07T08:30:00.000Z');
    expect(clock(r, 'RESOLUTION')).toMatchObject({ state: 'paused', dueAt: null, breachedAt: null });
    expect(r.dueAt).toBeNull();
    // a staff reply while waiting still answers
    const r2 = computeSla(
      [created('2026-12-07T08:00:00Z'), status('2026-12-07T08:10:00Z', 'WAITING_ON_CUSTOMER'), reply('2026-12-07T12:00:00Z')],
      ALL,
      BERLIN,
    );
    expect(clock(r2, 'FIRST_RESPONSE')).toMatchObject({ state: 'met', consumedMs: 10 * MIN });
    expect(clock(r2, 'FIRST_RESPONSE')!.pauses).toEqual([{ from: z('2026-12-07T08:10:00Z'), to: z('2026-12-07T12:00:00Z'), reason: 'WAITING_ON_CUSTOMER' }]);
  });

  it('a ticket created waiting starts its clocks paused', () => {
    const r = computeSla([created('2026-12-07T08:00:00Z', 'WAITING_ON_CUSTOMER'), status('2026-12-07T10:00:00Z', 'OPEN')], ALL, BERLIN);
    expect(clock(r, 'FIRST_RESPONSE')).toMatchObject({ state: 'running', consumedMs: 0 });
    expect(clock(r, 'FIRST_RESPONSE')!.pauses).toHaveLength(1);
    expect(iso(r.firstResponseDueAt)).toBe('2026-12-07T10:30:00.000Z');
  });
});

describe('resolution', () => {
  it('is met at RESOLVED; CLOSED after it changes nothing; a reopening resumes the same clock', () => {
    const events = [
      created('2026-12-07T08:00:00Z'),
      reply('2026-12-07T08:10:00Z'),
      status('2026-12-07T14:00:00Z', 'RESOLVED'),
      status('2026-12-07T15:00:00Z', 'RESOLVED'),
    ];
    let r = computeSla(events, ALL, BERLIN);
    let res = clock(r, 'RESOLUTION')!;
    expect(res).toMatchObject({ state: 'met', metBy: 'resolved', consumedMs: 6 * H, breachedAt: null });
    expect(res.stops).toEqual([{ from: z('2026-12-07T14:00:00Z'), to: null }]);
    r = computeSla([...events, status('2026-12-08T09:00:00Z', 'CLOSED')], ALL, BERLIN);
    expect(iso(clock(r, 'RESOLUTION')!.metAt)).toBe('2026-12-07T14:00:00.000Z');

    r = computeSla([...events, status('2026-12-09T09:00:00Z', 'OPEN')], ALL, BERLIN);
    res = clock(r, 'RESOLUTION')!;
    expect(res).toMatchObject({ state: 'running', metAt: null, consumedMs: 6 * H, cycle: 1 });
    expect(res.metBy).toBeUndefined();
    expect(res.stops).toEqual([{ from: z('2026-12-07T14:00:00Z'), to: z('2026-12-09T09:00:00Z') }]);
    expect(res.pauses).toEqual([]);
    expect(iso(r.resolutionDueAt)).toBe('2026-12-09T11:00:00.000Z');
    expect(r.clocks.filter((c) => c.kind === 'RESOLUTION')).toHaveLength(1);
  });

  it('a reopened ticket can be overdue at once', () => {
    const r = computeSla(
      [created('2026-12-07T07:00:00Z'), status('2026-12-07T17:00:00Z', 'RESOLVED'), status('2026-12-10T09:00:00Z', 'OPEN')],
      ALL,
      BERLIN,
    );
    const res = clock(r, 'RESOLUTION')!;
    expect(res.state).toBe('running');
    expect(res.consumedMs).toBe(10 * H);
    expect(iso(res.dueAt)).toBe('2026-12-07T15:00:00.000Z'); // in the past: overdue since then
    expect(iso(res.breachedAt)).toBe('2026-12-07T15:00:00.000Z');
  });

  it('a ticket created resolved has its clocks met at creation', () => {
    const r = computeSla([created('2026-12-07T08:00:00Z', 'RESOLVED')], ALL, BERLIN);
    expect(r.clocks.map((c) => [c.kind, c.state, c.metBy, c.consumedMs])).toEqual([
      ['FIRST_RESPONSE', 'met', 'resolved', 0],
      ['RESOLUTION', 'met', 'resolved', 0],
    ]);
  });
});

describe('targets, order and robustness', () => {
  it('a null target produces no clock; a zero target is breached at once', () => {
    const r = computeSla([created('2026-12-07T08:00:00Z')], { firstResponseMs: null, nextResponseMs: null, resolutionMs: 0 }, BERLIN);
    expect(r.clocks.map((c) => c.kind)).toEqual(['RESOLUTION']);
    expect(iso(r.resolutionDueAt)).toBe('2026-12-07T08:00:00.000Z');
    expect(computeSla([created('2026-12-07T08:00:00Z')], { firstResponseMs: null, nextResponseMs: null, resolutionMs: null }, BERLIN)).toEqual({
      clocks: [],
      firstResponseDueAt: null,
      nextResponseDueAt: null,
      resolutionDueAt: null,
      dueAt: null,
    });
  });

  it('without a first-response target, next-response cycles still wait for the first answer', () => {
    const t = { ...ALL, firstResponseMs: null };
    const r = computeSla([created('2026-12-07T08:00:00Z'), customer('2026-12-07T08:05:00Z'), reply('2026-12-07T08:10:00Z'), customer('2026-12-07T08:20:00Z')], t, BERLIN);
    expect(r.clocks.filter((c) => c.kind === 'NEXT_RESPONSE').map((c) => iso(c.startedAt))).toEqual(['2026-12-07T08:20:00.000Z']);
  });

  it('events at the same instant apply in the given order', () => {
    const a = computeSla([created('2026-12-07T08:00:00Z', 'OPEN', true), customer('2026-12-07T09:00:00Z'), reply('2026-12-07T09:00:00Z')], ALL, BERLIN);
    expect(clock(a, 'NEXT_RESPONSE')).toMatchObject({ state: 'met', consumedMs: 0 });
    const b = computeSla([created('2026-12-07T08:00:00Z', 'OPEN', true), reply('2026-12-07T09:00:00Z'), customer('2026-12-07T09:00:00Z')], ALL, BERLIN);
    expect(clock(b, 'NEXT_RESPONSE')).toMatchObject({ state: 'running' });
  });

  it('ignores events before created and repeated statuses; refuses a history without created, out of order, or negative targets', () => {
    const plain = computeSla([created('2026-12-07T08:00:00Z'), status('2026-12-07T09:00:00Z', 'OPEN')], ALL, BERLIN);
    const noisy = computeSla(
      [reply('2026-12-01T08:00:00Z'), status('2026-12-01T08:00:00Z', 'RESOLVED'), created('2026-12-07T08:00:00Z'), status('2026-12-07T08:30:00Z', 'NEW'), status('2026-12-07T09:00:00Z', 'OPEN'), status('2026-12-07T09:00:00Z', 'OPEN')],
      ALL,
      BERLIN,
    );
    expect(noisy).toEqual(plain);
    expect(() => computeSla([reply('2026-12-07T08:00:00Z')], ALL, BERLIN)).toThrow(/created/);
    expect(() => computeSla([created('2026-12-07T08:00:00Z'), created('2026-12-07T09:00:00Z')], ALL, BERLIN)).toThrow(/second/);
    expect(() => computeSla([created('2026-12-07T08:00:00Z'), reply('2026-12-07T07:00:00Z')], ALL, BERLIN)).toThrow(/time order/);
    expect(() => computeSla([created('2026-12-07T08:00:00Z')], { ...ALL, resolutionMs: -1 }, BERLIN)).toThrow(RangeError);
  });

  it('accepts a compiled calendar, with the same result', () => {
    const events = [created('2026-12-04T16:50:00Z'), reply('2026-12-07T07:30:00Z'), customer('2026-12-07T09:00:00Z')];
    expect(computeSla(events, ALL, compileCalendar(BERLIN))).toEqual(computeSla(events, ALL, BERLIN));
  });

  it('5,000 events over 3 years compute in well under 100 ms', () => {
    const events: ClockEvent[] = [created('2024-01-01T08:00:00Z')];
    let t = Date.UTC(2024, 0, 1, 8);
    const step = Math.floor((3 * 365 * DAY) / 5000);
    const cycle: ((at: Date) => ClockEvent)[] = [
      (at) => ({ kind: 'staff-reply', at }),
      (at) => ({ kind: 'customer-message', at }),
      (at) => ({ kind: 'status', at, to: 'WAITING_ON_CUSTOMER' }),
      (at) => ({ kind: 'status', at, to: 'IN_PROGRESS' }),
      (at) => ({ kind: 'customer-message', at }),
      (at) => ({ kind: 'status', at, to: 'RESOLVED' }),
      (at) => ({ kind: 'status', at, to: 'OPEN' }),
    ];
    for (let i = 0; events.length < 5000; i++) events.push(cycle[i % cycle.length]!(new Date((t += step))));
    const cal = { ...BERLIN, holidays: ['2024-12-25', '2025-12-25', '2026-12-25'] };
    // The first computation also compiles the code and reads three years of the zone's offsets
    // (100–300 ms); then the best of five (a collection or a busy neighbour can hold up any one
    // run): 2–5 ms on an idle machine, 5–15 ms on a crowded one.
    const r = computeSla(events, ALL, cal);
    expect(r.clocks.length).toBeGreaterThan(700);
    const runs = [0, 1, 2, 3, 4].map(() => {
      const started = performance.now();
      computeSla(events, ALL, cal);
      return performance.now() - started;
    });
    expect(Math.min(...runs)).toBeLessThan(100);
  });
});

// ------------------------------------------------------------------------------------------------
// Properties

type Phase = 'active' | 'waiting' | 'resolved';
const phaseOf = (s: TicketStatus): Phase => (s === 'WAITING_ON_CUSTOMER' ? 'waiting' : s === 'RESOLVED' || s === 'CLOSED' ? 'resolved' : 'active');

/** The ticket's status after each event. */
function statuses(events: readonly ClockEvent[]): TicketStatus[] {
  let s: TicketStatus = 'NEW';
  return events.map((e) => (s = e.kind === 'created' ? e.status : e.kind === 'status' ? e.to : s));
}

const copy = (events: readonly ClockEvent[]): ClockEvent[] => events.map((e) => ({ ...e, at: new Date(e.at.getTime()) }));

describe('properties', () => {
  it('computeSla is deterministic, leaves its input alone, and does not care which copy of the history it gets', () => {
    fc.assert(
      fc.property(historyArb(), targetsArb, calendarArb(), (events, targets, cal) => {
        const before = JSON.stringify(events);
        const a = computeSla(events, targets, cal);
        expect(JSON.stringify(events)).toBe(before);
        expect(computeSla(copy(events), { ...targets }, structuredClone(cal))).toEqual(a);
        expect(computeSla(events, targets, compileCalendar(cal))).toEqual(a);
      }),
      propParams(150),
    );
  });

  it('consumed time is bounded: resolution ≤ business time from creation to the last event; every clock ≤ its own stretch', () => {
    fc.assert(
      fc.property(historyArb(), targetsArb, calendarArb(), (events, targets, cal) => {
        const r = computeSla(events, targets, cal);
        const bc = compileCalendar(cal);
        const first = events[0]!.at.getTime();
        const last = events[events.length - 1]!.at.getTime();
        for (const c of r.clocks) {
          const end = c.metAt?.getTime() ?? last;
          expect(c.consumedMs).toBeGreaterThanOrEqual(0);
          expect(c.consumedMs).toBeLessThanOrEqual(bc.msBetweenMs(c.startedAt.getTime(), end));
          if (c.kind === 'RESOLUTION') expect(c.consumedMs).toBeLessThanOrEqual(bc.msBetweenMs(first, last));
          if (c.state !== 'running') expect(c.dueAt).toBeNull();
          if (c.state === 'met') expect(c.metAt).not.toBeNull();
          else expect(c.metAt).toBeNull();
        }
        const dues = [r.firstResponseDueAt, r.nextResponseDueAt, r.resolutionDueAt].filter((d) => d !== null).map((d) => d.getTime());
        expect(r.dueAt?.getTime() ?? null).toBe(dues.length ? Math.min(...dues) : null);
        expect(r.clocks.filter((c) => c.kind === 'NEXT_RESPONSE' && (c.state === 'running' || c.state === 'paused')).length).toBeLessThanOrEqual(1);
      }),
      propParams(150),
    );
  });

  it("a running clock's dueAt is where consumed + business time from the last event reaches the target (or the past instant it did)", () => {
    fc.assert(
      fc.property(historyArb(), targetsArb, calendarArb(), (events, targets, cal) => {
        const r = computeSla(events, targets, cal);
        const last = events[events.length - 1]!;
        for (const c of r.clocks) {
          if (c.state !== 'running' || c.dueAt === null) continue;
          expect(c.breachedAt).toEqual(c.dueAt);
          if (c.consumedMs < c.targetMs) {
            expect(c.consumedMs + businessMsBetween(cal, last.at, c.dueAt)).toBe(c.targetMs);
            expect(c.dueAt.getTime()).toBeGreaterThan(last.at.getTime());
          } else {
            // already reached: the instant it was, no later than the last event
            expect(c.dueAt.getTime()).toBeLessThanOrEqual(last.at.getTime());
            expect(c.dueAt.getTime()).toBeGreaterThanOrEqual(c.startedAt.getTime());
          }
        }
      }),
      propParams(150),
    );
  });

  // A stretch [from, to] of a history in which the ticket is worked on (no status event inside),
  // and the same history with that stretch spent waiting on the customer, or resolved.
  const stretchArb = (as: TicketStatus) =>
    fc
      .record({ events: historyArb(), i: fc.nat(), j: fc.nat() })
      .map(({ events, i, j }) => {
        const st = statuses(events);
        // pause after event a, resume after event b: a working stretch without status events in between
        const starts = events.map((_, k) => k).filter((k) => phaseOf(st[k]!) === 'active');
        if (starts.length === 0) return null;
        const a = starts[i % starts.length]!;
        let end = a;
        while (end + 1 < events.length && events[end + 1]!.kind !== 'status') end++;
        const b = a + (j % (end - a + 1));
        const changed = [
          ...events.slice(0, a + 1),
          { kind: 'status', at: events[a]!.at, to: as } as ClockEvent,
          ...events.slice(a + 1, b + 1),
          { kind: 'status', at: events[b]!.at, to: st[a]! } as ClockEvent,
          ...events.slice(b + 1),
        ];
        return { events, changed, from: events[a]!.at.getTime(), to: events[b]!.at.getTime() };
      })
      .filter((x) => x !== null);

  it('a pause never consumes time: waiting on the customer in a working stretch takes exactly its business time off every clock', () => {
    fc.assert(
      fc.property(stretchArb('WAITING_ON_CUSTOMER'), targetsArb, calendarArb(), ({ events, changed, from, to }, targets, cal) => {
        const bc = compileCalendar(cal);
        const last = events[events.length - 1]!.at.getTime();
        const before = computeSla(events, targets, cal).clocks;
        const after = computeSla(changed, targets, cal).clocks;
        expect(after.map((c) => [c.kind, c.cycle, c.startedAt])).toEqual(before.map((c) => [c.kind, c.cycle, c.startedAt]));
        before.forEach((c, k) => {
          const end = c.metAt?.getTime() ?? last;
          const inPause = bc.msBetweenMs(Math.max(from, c.startedAt.getTime()), Math.min(to, end));
          expect(after[k]!.consumedMs).toBe(c.consumedMs - inPause);
          expect(after[k]!.consumedMs).toBeLessThanOrEqual(c.consumedMs);
        });
      }),
      propParams(200),
    );
  });

  it('a resolved stretch never consumes resolution time: resolving and reopening takes exactly its business time off', () => {
    fc.assert(
      fc.property(stretchArb('RESOLVED'), targetsArb, calendarArb(), ({ events, changed, from, to }, targets, cal) => {
        const before = computeSla(events, targets, cal).clocks.find((c) => c.kind === 'RESOLUTION');
        const after = computeSla(changed, targets, cal).clocks.find((c) => c.kind === 'RESOLUTION');
        if (!before) return void expect(after).toBeUndefined();
        const last = events[events.length - 1]!.at.getTime();
        const end = before.metAt?.getTime() ?? last;
        expect(after!.consumedMs).toBe(before.consumedMs - businessMsBetween(cal, new Date(from), new Date(Math.min(to, end))));
        expect(after!.stops).toContainEqual({ from: new Date(from), to: new Date(to) });
      }),
      propParams(150),
    );
  });

  it('later events do not rewrite the past: a met response clock stays as it was, a running one only grows', () => {
    fc.assert(
      fc.property(historyArb(), fc.nat(), targetsArb, calendarArb(), (events, cut, targets, cal) => {
        const prefix = events.slice(0, 1 + (cut % events.length));
        const early = computeSla(prefix, targets, cal).clocks;
        const late = computeSla(events, targets, cal).clocks;
        for (const c of early) {
          const same = late.find((l) => l.kind === c.kind && l.cycle === c.cycle);
          expect(same).toBeDefined();
          expect(same!.startedAt).toEqual(c.startedAt);
          if (c.state === 'met' && c.kind !== 'RESOLUTION') expect(same).toEqual(c);
          else expect(same!.consumedMs).toBeGreaterThanOrEqual(c.consumedMs);
        }
      }),
      propParams(150),
    );
  });

  it('24×7 in UTC: a clock that was never paused nor resolved has consumed exactly its real running time', () => {
    fc.assert(
      fc.property(historyArb(), targetsArb, (events, targets) => {
        const r = computeSla(events, targets, ALWAYS_OPEN);
        const last = events[events.length - 1]!.at.getTime();
        for (const c of r.clocks) {
          if (c.pauses.length || c.stops.length) continue;
          expect(c.consumedMs).toBe((c.metAt?.getTime() ?? last) - c.startedAt.getTime());
        }
      }),
      propParams(150),
    );
  });
});
