// Look-alike email addresses: skeletons (Unicode TS #39), mixed scripts, how staff see an address.
import { describe, expect, it } from 'vitest';
import {
  KNOWN_SCRIPTS,
  SKELETON_MAX,
  emailSkeleton,
  looksAlike,
  mixedScripts,
  unambiguousAddress,
  viewAddress,
} from '../../src/domain/email-address.js';

const CYRILLIC_E = '\u0435';
const lookalike = `ann@cust.t${CYRILLIC_E}st`;

describe('address skeletons', () => {
  it('are equal for addresses that look alike', () => {
    expect(emailSkeleton(lookalike)).toBe(emailSkeleton('ann@cust.test'));
    expect(emailSkeleton('ann@cust.xn--tst-rdd')).toBe(emailSkeleton('ann@cust.test')); // the same, typed in punycode
    expect(emailSkeleton('\u0430nn@cust.test')).toBe(emailSkeleton('ann@cust.test')); // Cyrillic а in the local part
    expect(emailSkeleton('ANN@Cust.Test')).toBe(emailSkeleton('ann@cust.test'));
    expect(emailSkeleton('ann\u200b@cust.test')).toBe(emailSkeleton('ann@cust.test')); // an invisible character
    expect(emailSkeleton('ann@rnicrosoft.test')).toBe(emailSkeleton('ann@microsoft.test')); // plain ASCII look-alikes
    expect(emailSkeleton('ann@g00gle.test')).toBe(emailSkeleton('ann@google.test'));
    expect(looksAlike(lookalike, 'ann@cust.test')).toBe(true);
  });

  it('differ for ordinary different addresses, and an address does not look like itself', () => {
    expect(emailSkeleton('ann@a.test')).not.toBe(emailSkeleton('ann@b.test'));
    expect(emailSkeleton('ann@cust.test')).not.toBe(emailSkeleton('anna@cust.test'));
    expect(looksAlike('ann@a.test', 'ann@b.test')).toBe(false);
    expect(looksAlike('ann@cust.test', 'Ann@Cust.test')).toBe(false);
    expect(emailSkeleton('ann@пример.рф')).not.toBe(emailSkeleton('ann@primer.rf'));
  });

  it('stay within the column, quickly, whatever the characters', () => {
    const started = performance.now();
    for (const ch of ['\ufdfd', '\u{1d400}', 'm', '\u200b', '\u0301']) {
      const address = `${ch.repeat(120)}@${ch.repeat(120)}.test`;
      expect([...emailSkeleton(address)].length).toBeLessThanOrEqual(SKELETON_MAX);
    }
    expect(performance.now() - started).toBeLessThan(500);
  });
});

describe('mixed scripts', () => {
  it('finds Latin mixed with Cyrillic or Greek, not one script, nor Latin with Japanese', () => {
    expect(mixedScripts(`t${CYRILLIC_E}st`)).toEqual(['Latin', 'Cyrillic']);
    expect(mixedScripts('p\u03b1ypal')).toEqual(['Latin', 'Greek']);
    expect(mixedScripts('пример')).toEqual([]);
    expect(mixedScripts('münchen')).toEqual([]);
    expect(mixedScripts('tanaka田中ひらがな')).toEqual([]);
    expect(mixedScripts('ann-42_x')).toEqual([]);
  });

  it('knows the script of every character the JavaScript engine knows one for', () => {
    const known = new RegExp(
      `[${KNOWN_SCRIPTS.map((s) => `\\p{Script_Extensions=${s}}`).join('')}\\p{Script_Extensions=Common}\\p{Script_Extensions=Inherited}]`,
      'u',
    );
    const assigned = /[^\p{Cn}\p{Co}]/u; // private use has no script
    const missing: string[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const ch = String.fromCodePoint(cp);
      if (assigned.test(ch) && !known.test(ch)) missing.push(cp.toString(16));
    }
    expect(missing.slice(0, 20)).toEqual([]);
  });
});

describe('how staff see an address', () => {
  it('shows a plain address as it is', () => {
    expect(viewAddress('ann@cust.test')).toEqual({
      address: 'ann@cust.test',
      international: false,
      pieces: [{ text: 'ann@cust.test', odd: false }],
      ascii: null,
      lookalike: [],
    });
  });

  it('shows a look-alike domain in punycode, its odd character marked, with the reason', () => {
    const v = viewAddress(lookalike);
    expect(v.international).toBe(true);
    expect(v.ascii).toBe('ann@cust.xn--tst-rdd');
    expect(v.pieces).toEqual([
      { text: 'ann@cust.t', odd: false },
      { text: CYRILLIC_E, odd: true, code: 'U+0435' },
      { text: 'st', odd: false },
    ]);
    expect(v.lookalike).toEqual([`The domain part “t${CYRILLIC_E}st” mixes Latin and Cyrillic letters; it reads as “test”.`]);
    // Typed in punycode, it shows the same.
    expect(viewAddress('ann@cust.xn--tst-rdd')).toMatchObject({ ascii: 'ann@cust.xn--tst-rdd', lookalike: v.lookalike });
  });

  it('marks a local part that mixes scripts (SMTPUTF8), a whole label of look-alike letters, and invisible characters', () => {
    expect(viewAddress('\u0430nn@cust.test').lookalike).toEqual([
      'The name before @ “\u0430nn” mixes Cyrillic and Latin letters; it reads as “ann”.',
    ]);
    expect(viewAddress('ann@\u0441\u043e\u0441\u043e.test').lookalike).toEqual([
      'The domain part “\u0441\u043e\u0441\u043e” is written in Cyrillic letters that look like plain ones; it reads as “coco”.',
    ]);
    expect(viewAddress('ann\u200b@cust.test').lookalike).toEqual(['It contains invisible characters (U+200B).']);
  });

  it('shows a legitimate international address with its punycode form, unmarked', () => {
    expect(viewAddress('ann@пример.рф')).toMatchObject({ international: true, ascii: 'ann@xn--e1afmkfd.xn--p1ai', lookalike: [] });
    expect(viewAddress('jörg@münchen.de')).toMatchObject({ ascii: 'jörg@xn--mnchen-3ya.de', lookalike: [] });
    expect(viewAddress('tanaka田中@example.jp')).toMatchObject({ international: true, ascii: null, lookalike: [] });
  });

  it('writes any address in plain ASCII where it must be unmistakable (messages)', () => {
    expect(unambiguousAddress('ann@cust.test')).toBe('ann@cust.test');
    expect(unambiguousAddress(lookalike)).toBe('ann@cust.xn--tst-rdd');
    expect(unambiguousAddress('\u0430nn@cust.test')).toBe('[U+0430]nn@cust.test');
  });
});
