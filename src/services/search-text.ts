/**
 * The longest search text (a search box, a title to find suggestions for) that reaches
 * PostgreSQL's text-search parser. The web forms refuse longer text with a message; services
 * called otherwise only ever look at this much of it. The parser's cost grows faster than the
 * text on some inputs (see migration 20261204010000_bounded_search), so no query text is unbounded.
 */
export const SEARCH_TEXT_MAX = 200;

export const SEARCH_TEXT_TOO_LONG = `Search text can be at most ${SEARCH_TEXT_MAX} characters.`;

/** The text trimmed, and at most SEARCH_TEXT_MAX characters of it (never half a surrogate pair). */
export function boundedSearchText(text: string | undefined | null): string {
  const trimmed = (text ?? '').trim();
  if (trimmed.length <= SEARCH_TEXT_MAX) return trimmed;
  const cut = trimmed.slice(0, SEARCH_TEXT_MAX);
  return (/[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut).trimEnd();
}
