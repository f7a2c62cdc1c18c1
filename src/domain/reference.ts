import { randomInt } from 'node:crypto';

/** Crockford base32: no I, L, O or U, so a reference reads aloud without ambiguity. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const REFERENCE_PREFIX = 'CB-';
export const REFERENCE_LENGTH = 7; // 32^7 ≈ 34 billion: not guessable from the previous one
const PATTERN = new RegExp(`^${REFERENCE_PREFIX}[${ALPHABET}]{${REFERENCE_LENGTH}}$`);

export function generateReference(): string {
  let code = '';
  for (let i = 0; i < REFERENCE_LENGTH; i++) code += ALPHABET[randomInt(ALPHABET.length)];
  return REFERENCE_PREFIX + code;
}

/**
 * Turns what a person typed or read over the phone into a reference, or null:
 * case, spaces and dashes do not matter, the prefix may be left out, and the letters
 * Crockford maps (O→0, I/L→1) are accepted.
 */
export function normalizeReference(input: string): string | null {
  let s = input.toUpperCase().replace(/[\s\-_.]/g, '');
  if (s.startsWith('CB')) s = s.slice(2);
  s = s.replace(/O/g, '0').replace(/[IL]/g, '1');
  const candidate = REFERENCE_PREFIX + s;
  return PATTERN.test(candidate) ? candidate : null;
}
