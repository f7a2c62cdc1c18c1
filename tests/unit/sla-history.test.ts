// The clock's events read from history rows: several app instances' clocks may disagree by a few
// ms, so a row written a moment later can carry an earlier time; the clock (which refuses events
// out of order) must still be computable, or every change to that ticket would fail.
import { describe, expect, it } from 'vitest';
import { clockEvents } from '../../src/services/sla/recompute.js';
import { computeSla } from '../../src/domain/sla-clock.js';
import { ALWAYS_OPEN } from '../../src/domain/business-hours.js';

describe('clockEvents', () => {
  it('keeps the history in order even when a later row carries an earlier time', () => {
    const t0 = Date.UTC(2026, 11, 7, 9, 0, 0);
    const events = clockEvents([
      { a: 'CREATED', f: null, v: JSON.stringify({ status: 'NEW' }), k: 'c', t: t0 },
      { a: 'CHANGED', f: 'status', v: 'OPEN', k: 's', t: t0 - 3 },
      { a: 'WORKLOG_ADDED', f: 'REPLY', v: null, k: 's', t: t0 + 60_000 },
      { a: 'WORKLOG_ADDED', f: 'REPLY', v: null, k: 'r', t: t0 + 61_000 },
    ]);
    expect(events.map((e) => e.at.getTime())).toEqual([t0, t0, t0 + 60_000]);
    expect(events.map((e) => e.kind)).toEqual(['created', 'status', 'staff-reply']);
    const sla = computeSla(events, { firstResponseMs: 30 * 60_000, nextResponseMs: null, resolutionMs: 4 * 3600_000 }, ALWAYS_OPEN);
    expect(sla.clocks.find((c) => c.kind === 'FIRST_RESPONSE')?.metAt?.getTime()).toBe(t0 + 60_000);
  });
});
