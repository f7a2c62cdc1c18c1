import { describe, expect, it } from 'vitest';
import { generateReference, normalizeReference } from '../../src/domain/reference.js';
import { canTransition, TRANSITIONS, transitionRefusal } from '../../src/domain/status.js';
import { STATUSES } from '../../src/domain/enums.js';
import { ConfigError, loadConfig } from '../../src/config/env.js';

describe('reference numbers', () => {
  it('are CB- and 7 Crockford characters, and do not repeat', () => {
    const refs = Array.from({ length: 5000 }, generateReference);
    for (const r of refs) expect(r).toMatch(/^CB-[0-9A-HJKMNP-TV-Z]{7}$/);
    expect(new Set(refs).size).toBe(refs.length);
  });

  it('read back whatever way a person types them', () => {
    expect(normalizeReference('CB-7K2M9QX')).toBe('CB-7K2M9QX');
    expect(normalizeReference('cb 7k2m 9qx')).toBe('CB-7K2M9QX');
    expect(normalizeReference('7K2M9QX')).toBe('CB-7K2M9QX');
    expect(normalizeReference('CB-7K2MOQX')).toBe('CB-7K2M0QX'); // O read as zero
    expect(normalizeReference('CB-1LI0000')).toBe('CB-1110000');
    expect(normalizeReference('CB-7K2M9Q')).toBeNull();
    expect(normalizeReference('CB-7K2M9QU')).toBeNull(); // U is not in the alphabet
    expect(normalizeReference("'; DROP TABLE")).toBeNull();
  });
});

describe('status transitions', () => {
  it('closed is final and nothing returns to NEW', () => {
    expect(TRANSITIONS.CLOSED).toEqual([]);
    for (const s of STATUSES) expect(canTransition(s, 'NEW')).toBe(false);
  });

  it('refusals say what is allowed', () => {
    expect(transitionRefusal('OPEN', 'CLOSED')).toBe('A ticket cannot go from Open to Closed. From Open it can go to: In progress, Resolved.');
    expect(transitionRefusal('CLOSED', 'OPEN')).toBe('A ticket cannot go from Closed to Open. Closed tickets are final.');
  });
});

describe('configuration', () => {
  it('has working defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ PORT: 3000, DATA_DIR: './data', SESSION_TTL_HOURS: 12, NODE_ENV: 'production' });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('names the variable that is wrong', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL: must be a postgresql:\/\/ URL/);
    expect(() => loadConfig({ SESSION_SECRET: 'short' })).toThrow(/SESSION_SECRET/);
  });

  it('treats empty values as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: '' }).DATABASE_URL).toBeUndefined();
  });
});
