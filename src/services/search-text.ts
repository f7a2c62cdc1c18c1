/**
 * The longest search text (a search box, a title to find suggestions for) that reaches
 * PostgreSQL's text-search parser. The web forms refuse longer text with a message; services
 * called otherwise only ever look at this much of it. The parser's cost grows faster than the
 * text on some inputs (see migration 20261204010000_bounded_search), so no query text is unbounded.
 */
export const SEARCH_TEXT_MAX = 200;

export const SEARCH_TEXT_TOO_LONG = `Search text can be at most ${SEARCH_TEXT_MAX} characters.`;

/**
 * The text trimmed, at most SEARCH_TEXT_MAX characters of it (never half a surrogate pair), and
 * no "-" (websearch_to_tsquery's NOT) that only precedes another one: more than 32 NOTs in a row
 * ("----…", "- - -…", "-!-!…") make PostgreSQL fail the query ("tsquery stack too small"), which
 * was a 500 on every search box, the public help centre's too. ("--word", NOT NOT word, becomes
 * "-word".)
 */
export function boundedSearchText(text: string | undefined | null): string {
  let out = (text ?? '').trim();
  if (out.length > SEARCH_TEXT_MAX) {
    const cut = out.slice(0, SEARCH_TEXT_MAX);
    out = (/[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut).trimEnd();
  }
  return out.replace(/-(?=[^\p{L}\p{N}"]*-)/gu, '');
}
