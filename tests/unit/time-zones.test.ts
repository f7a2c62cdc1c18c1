// Times shown in a user's zone, with the offset of that moment; the zones a user may choose.
import { describe, expect, it } from 'vitest';
import { listedTimeZone, timeZones } from '../../src/domain/time-zones.js';
import { when, zoneLabel } from '../../src/web/presenters/time.js';

const at = new Date('2026-12-07T10:30:00Z');
const summer = new Date('2026-07-07T10:30:00Z');

describe('when', () => {
  it('in UTC reads as before (customer pages, staff who chose nothing)', () => {
    expect(when(at)).toBe('7 Dec 2026, 10:30 UTC');
    expect(when(at, 'UTC')).toBe('7 Dec 2026, 10:30 UTC');
  });

  it('in a zone: its local time and the offset at that moment, daylight saving included', () => {
    expect(when(at, 'Asia/Calcutta')).toBe('7 Dec 2026, 16:00 UTC+05:30');
    expect(when(at, 'America/New_York')).toBe('7 Dec 2026, 05:30 UTC-05:00');
    expect(when(summer, 'America/New_York')).toBe('7 Jul 2026, 06:30 UTC-04:00');
    expect(when(at, 'Europe/London')).toBe('7 Dec 2026, 10:30 UTC+00:00');
    expect(when(new Date('2026-12-31T20:00:00Z'), 'Pacific/Kiritimati')).toBe('1 Jan 2027, 10:00 UTC+14:00');
  });

  it('names the zone for the footer', () => {
    expect(zoneLabel('UTC')).toBe('UTC');
    expect(zoneLabel('Asia/Calcutta', at)).toBe('Asia/Calcutta (UTC+05:30 now)');
  });
});

describe('the zones a user may choose', () => {
  it('are the runtime’s IANA names and UTC, first', () => {
    const zones = timeZones();
    expect(zones[0]).toBe('UTC');
    expect(zones).toContain('Europe/Paris');
    expect(new Set(zones).size).toBe(zones.length);
  });

  it('takes a listed name as it is, an alias by its listed name, and nothing else', () => {
    expect(listedTimeZone('Europe/Paris')).toBe('Europe/Paris');
    expect(listedTimeZone(listedTimeZone('Asia/Kolkata')!)).toBe(listedTimeZone('Asia/Kolkata'));
    expect(['Asia/Kolkata', 'Asia/Calcutta']).toContain(listedTimeZone('Asia/Kolkata'));
    expect(listedTimeZone('Etc/UTC')).toBe('UTC');
    for (const bad of ['', 'Mars/Olympus_Mons', 'Europe/Paris ', '+05:30', 'x'.repeat(65), '<script>', 'Europe/../Paris']) {
      expect(listedTimeZone(bad), bad).toBeNull();
    }
  });
});
