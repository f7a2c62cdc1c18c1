// Texts that PostgreSQL's default text-search parser takes quadratic time on (issue 9, finding 1).
// Found with scripts/fuzz-text-search.ts (npm run fuzz:search -- --raw); see that script for how.

/** Repeat units: the three of the issue, then one of each class the fuzzer found. */
export const PATHOLOGICAL_UNITS: readonly string[] = [
  '_a', 'a_1', 'a-b.', // the issue's
  '<!--', '<!-- ', // an unclosed comment, with or without spaces
];
