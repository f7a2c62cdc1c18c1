// Texts that PostgreSQL's default text-search parser takes quadratic time on (issue 9, finding 1):
// one repeat unit per class that scripts/fuzz-text-search.ts found (npm run fuzz:search -- --raw:
// every unit of 1-3 characters over PARSER_ALPHABET and thousands of longer ones, on PostgreSQL 15
// and on PGlite). Times are for 4,000 characters of the parser alone on PostgreSQL 15 here, where
// ordinary text takes ~1 ms; each doubling of the length quadruples them.

/** Repeat units, one (or two) per class. */
export const PATHOLOGICAL_UNITS: readonly string[] = [
  // The three: '_' between letters or digits (host names may hold '_'), ~130 ms;
  '_a', 'a_1',
  // a hyphenated word that is also a host ('a-b.a-b.…'), ~80 ms;
  'a-b.',
  '1_', // digits only (uint), ~115 ms
  // '@' between letters and digits: from every '@' a host that may itself hold an email, and so
  // on (the worst: ~1,000 ms), ~5 times the others;
  'a@0', '0@x0',
  // file paths ('./', '~/'), ~100-130 ms;
  './', '~/',
  // an unclosed comment, also with spaces: the one class that runs across white space, ~30 ms.
  '<!--', '<!-- ',
];

/**
 * The characters the parser's states care about: letters (ASCII, Latin-1, Cyrillic), digits, the
 * punctuation of emails, URLs, hosts, file paths, hyphenated words, versions, numbers, XML entities
 * and tags, and white space.
 */
export const PARSER_ALPHABET: readonly string[] = [
  'a', 'Z', 'x', '1', '0', '_', '-', '.', '/', '@', ':', '+', '&', ';', '#', '=', '?', '!', '~',
  '<', '>', "'", '"', '%', ',', '\\', ' ', '\n', 'é', 'ж',
];

/** `unit` repeated to exactly `chars` code points. */
export function fill(unit: string, chars: number): string {
  const cps = Array.from(unit);
  const out: string[] = [];
  for (let i = 0; i < chars; i++) out.push(cps[i % cps.length]!);
  return out.join('');
}
