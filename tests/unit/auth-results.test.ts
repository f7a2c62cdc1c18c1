// Authentication-Results (RFC 8601): parsing, which fields are trusted, and the verdict.
import { describe, expect, it } from 'vitest';
import { evaluateAuthentication, parseAuthenticationResults, trustedFields } from '../../src/mail/auth-results.js';

const ID = 'mx.example.org';

describe('parseAuthenticationResults', () => {
  it('reads methods, results, reasons and properties (comments, quotes, version, folding)', () => {
    const f = parseAuthenticationResults(
      'Authentication-Results: MX.example.org 1; (checked (twice)) spf=pass (sender ok) smtp.mailfrom=user@Customer.test;\r\n' +
        ' dkim=fail reason="signature \\"bad\\"" header.d=customer.test header.b=Ab/+c=;\r\n dmarc = pass header.from=customer.test',
    );
    expect(f?.authservId).toBe('mx.example.org');
    expect(f?.results.map((r) => [r.method, r.result, r.reason, Object.fromEntries(r.props)])).toEqual([
      ['spf', 'pass', null, { 'smtp.mailfrom': 'user@Customer.test' }],
      ['dkim', 'fail', 'signature "bad"', { 'header.d': 'customer.test', 'header.b': 'Ab/+c=' }],
      ['dmarc', 'pass', null, { 'header.from': 'customer.test' }],
    ]);
    expect(parseAuthenticationResults(`${ID}; none`)).toEqual({ authservId: ID, results: [] });
  });

  it('refuses what is not one (and is never slow or fooled by hostile input)', () => {
    for (const bad of ['', ';', `${ID} spf=pass`, `${ID}; spf`, `${ID}; spf=`, `${ID}; (unfinished`, `${ID}; spf="open`, `${ID}; ${'('.repeat(20)}x${')'.repeat(20)} spf=pass`]) {
      expect(parseAuthenticationResults(bad), bad).toBeNull();
    }
    const started = performance.now();
    for (const hostile of ['('.repeat(16_000), '"'.repeat(16_000), `${ID}; ` + 'a=b '.repeat(4000), `${ID}; ` + 'spf=pass;'.repeat(2000), '\\'.repeat(16_000)]) {
      parseAuthenticationResults(hostile);
    }
    expect(performance.now() - started).toBeLessThan(200);
    // A property called __proto__ or constructor is just a property.
    const f = parseAuthenticationResults(`${ID}; spf=pass __proto__.x=1 constructor.y=2`);
    expect(Object.fromEntries(f!.results[0]!.props)).toEqual({ '__proto__.x': '1', 'constructor.y': '2' });
  });
});

describe('trustedFields', () => {
  it('takes trusted fields from the top only, until the first field of another server', () => {
    const fields = [`${ID}; spf=pass`, `mx2.example.org; dkim=pass`, `other.test; dmarc=pass`, `${ID}; dmarc=pass`];
    expect(trustedFields(fields, [ID, 'mx2.example.org']).map((f) => f.results[0]!.method)).toEqual(['spf', 'dkim']);
    expect(trustedFields(fields, [])).toEqual([]);
    expect(trustedFields([`garbage (`, `${ID}; spf=pass`], [ID])).toEqual([]);
  });
});

describe('evaluateAuthentication', () => {
  const verdict = (fields: string[], from = 'ann@customer.test', envelope = 'ann@customer.test') =>
    evaluateAuthentication(fields, [ID], from, envelope).status;
  it('DMARC decides for the From domain; without it, aligned SPF or DKIM', () => {
    expect(verdict([`${ID}; dmarc=fail header.from=customer.test`])).toBe('FAIL');
    expect(verdict([`${ID}; dmarc=pass header.from=customer.test; spf=fail`])).toBe('PASS');
    expect(verdict([`${ID}; dmarc=pass header.from=other.test; spf=fail smtp.mailfrom=customer.test`])).toBe('FAIL');
    expect(verdict([`${ID}; dmarc=none; spf=pass smtp.mailfrom=bounce.mail.customer.test`])).toBe('PASS');
    expect(verdict([`${ID}; spf=pass`])).toBe('PASS'); // the envelope domain then
    expect(verdict([`${ID}; spf=pass`], 'ann@customer.test', 'x@esp.test')).toBe('FAIL');
    expect(verdict([`${ID}; dkim=pass header.d=customer.test; spf=fail`])).toBe('PASS');
    expect(verdict([`${ID}; dkim=pass header.d=esp.test; spf=neutral smtp.mailfrom=esp.test`])).toBe('FAIL');
    expect(verdict([`${ID}; iprev=pass`])).toBe('NONE');
    expect(verdict([`other.test; dmarc=fail`])).toBe('NONE');
    expect(verdict([])).toBe('NONE');
  });
});

describe('configuration', () => {
  it('MAIL_TRUSTED_AUTHSERV_ID is a comma-separated list; MAIL_REQUIRE_AUTHENTICATION needs it', async () => {
    const { ConfigError, loadConfig } = await import('../../src/config/env.js');
    expect(loadConfig({}).MAIL_TRUSTED_AUTHSERV_ID).toBeUndefined();
    expect(loadConfig({ MAIL_TRUSTED_AUTHSERV_ID: ' MX.example.org, mx2.example.org ,' }).MAIL_TRUSTED_AUTHSERV_ID).toEqual(['mx.example.org', 'mx2.example.org']);
    expect(() => loadConfig({ MAIL_TRUSTED_AUTHSERV_ID: 'bad id; x' })).toThrow(/MAIL_TRUSTED_AUTHSERV_ID/);
    expect(() => loadConfig({ MAIL_REQUIRE_AUTHENTICATION: 'true' })).toThrow(ConfigError);
    expect(loadConfig({}).MAIL_ACK_MAX_PER_ADDRESS).toBe(5);
  });
});
