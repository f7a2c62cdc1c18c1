// Grouping and release order of error reports (no database).
import { describe, expect, it } from 'vitest';
import { fromSentryEvent, fromJsonEvent, jsonEventSchema } from '../../src/services/errors/event.js';
import { addLabels, compareReleases, newestRelease } from '../../src/services/errors/releases.js';

const ev = (type: string, frames: { module?: string; function?: string; lineno?: number; in_app?: boolean }[], extra: Record<string, unknown> = {}) =>
  fromSentryEvent({ exception: { values: [{ type, value: 'msg', stacktrace: { frames } }] }, ...extra });

describe('the fingerprint', () => {
  it('is the type and the application frames: line numbers and library frames do not count', () => {
    const a = ev('TypeError', [{ module: 'express', function: 'handle', lineno: 1, in_app: false }, { module: 'cart', function: 'total', lineno: 10 }]);
    const b = ev('TypeError', [{ module: 'express', function: 'next', lineno: 99, in_app: false }, { module: 'cart', function: 'total', lineno: 77 }]);
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(ev('RangeError', [{ module: 'cart', function: 'total' }]).fingerprint).not.toBe(a.fingerprint);
    expect(ev('TypeError', [{ module: 'cart', function: 'other' }]).fingerprint).not.toBe(a.fingerprint);
  });

  it('follows the client: {{ default }} stands for the default parts', () => {
    const frames = [{ module: 'cart', function: 'total' }];
    const plain = ev('E', frames);
    const tenantA = ev('E', frames, { fingerprint: ['{{ default }}', 'a'] });
    const tenantA2 = ev('E', [{ module: 'cart', function: 'total', lineno: 5 }], { fingerprint: ['{{default}}', 'a'] });
    expect(tenantA.fingerprint).toBe(tenantA2.fingerprint);
    expect(tenantA.fingerprint).not.toBe(plain.fingerprint);
    expect(ev('X', [], { fingerprint: ['gateway'] }).fingerprint).toBe(ev('Y', frames, { fingerprint: ['gateway'] }).fingerprint);
  });

  it('is the same for the JSON endpoint and a Sentry event describing the same thing', () => {
    const body = jsonEventSchema.parse({ type: 'DiskFull', message: 'x', stacktrace: [{ module: 'backup', function: 'rotate', line: 3 }] });
    expect(fromJsonEvent(body).fingerprint).toBe(ev('DiskFull', [{ module: 'backup', function: 'rotate', lineno: 9 }]).fingerprint);
  });
});

describe('release order', () => {
  it('is semver when both parse (package@version too), else the order first seen', () => {
    const seen = ['app@1.2.0', 'app@1.10.0', 'blue', 'green'];
    expect(compareReleases('app@1.10.0', 'app@1.2.0', seen)).toBeGreaterThan(0);
    expect(compareReleases('1.0.0-beta.1', '1.0.0', seen)).toBeLessThan(0);
    expect(compareReleases('green', 'blue', seen)).toBeGreaterThan(0);
    expect(compareReleases('blue', 'green', seen)).toBeLessThan(0);
    expect(compareReleases('never-seen', 'blue', seen)).toBeGreaterThan(0);
    expect(newestRelease(['app@1.2.0', 'app@1.10.0', 'app@1.9.0'])).toBe('app@1.10.0');
    expect(newestRelease([])).toBeNull();
  });

  it('keeps at most 50 labels, in the order first seen', () => {
    const many = Array.from({ length: 80 }, (_, i) => `r${i}`);
    expect(addLabels(['r5'], many)).toHaveLength(50);
    expect(addLabels(['r5'], many)[0]).toBe('r5');
  });
});
