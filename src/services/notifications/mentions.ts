// Mentions: `@handle` in an internal note or attempted fix tells that colleague (and makes them
// follow the ticket). Not in replies to the customer: the customer would be mailed the @text.
//
// A handle is the local part of a staff member's email (@maria for maria@corp.test) or their name
// without spaces (@MariaLopez), compared case-insensitively, among active staff. A handle that
// names nobody, or several people, is left as plain text. Hostile text costs a single pass: no
// regular expression, at most MAX_MENTIONS handles per entry.
import type { Tx } from '../../db/client.js';

/** Handles looked up per entry; further ones are left as text. */
export const MAX_MENTIONS = 20;
/** Longer than any email local part (64): a longer word is not a handle. */
const MAX_HANDLE = 64;

const isHandleChar = (c: number) =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 46 || c === 95 || c === 45 || c === 43;
const isWordChar = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;

/** One `@handle` in a text: where it starts (the @), where it ends, and the handle in lower case. */
export interface MentionAt {
  start: number;
  end: number;
  handle: string;
}

/**
 * The `@handle`s of a text, in order, found in one pass. An @ right after a letter or digit is an
 * email address, not a mention; trailing dots and dashes are punctuation ("thanks @maria.").
 * `limit` bounds the distinct handles collected (the scan stops there).
 */
export function findMentions(text: string, limit = MAX_MENTIONS): MentionAt[] {
  const found: MentionAt[] = [];
  const distinct = new Set<string>();
  let i = 0;
  while (i < text.length) {
    const at = text.indexOf('@', i);
    if (at < 0) break;
    i = at + 1;
    if (at > 0 && isWordChar(text.charCodeAt(at - 1))) continue;
    let end = i;
    while (end < text.length && end - i <= MAX_HANDLE && isHandleChar(text.charCodeAt(end))) end++;
    if (end - i > MAX_HANDLE) {
      // Too long for a handle: skip the rest of the word.
      while (end < text.length && isHandleChar(text.charCodeAt(end))) end++;
      i = end;
      continue;
    }
    while (end > i && '.-+'.includes(text[end - 1]!)) end--;
    if (end === i) continue;
    const handle = text.slice(i, end).toLowerCase();
    if (!distinct.has(handle)) {
      if (distinct.size >= limit) break;
      distinct.add(handle);
    }
    found.push({ start: at, end, handle });
    i = end;
  }
  return found;
}

/** A person's handles: their email's local part and their name without spaces, in lower case. */
export function handlesOf(person: { name: string; email: string }): string[] {
  const local = person.email.slice(0, person.email.lastIndexOf('@')).toLowerCase();
  const name = person.name.replace(/\s+/g, '').toLowerCase();
  return local === name ? [local] : [local, name];
}

/** handle → person, for the given people; a handle two people share names nobody. */
export function handleIndex<P extends { name: string; email: string }>(people: readonly P[]): Map<string, P> {
  const index = new Map<string, P | null>();
  for (const p of people) {
    for (const h of handlesOf(p)) index.set(h, index.has(h) && index.get(h) !== p ? null : p);
  }
  return new Map([...index].filter((e): e is [string, P] => e[1] !== null));
}

/** The active staff members a text mentions (ids, each once), looked up in one query. */
export async function resolveMentions(tx: Tx, text: string): Promise<number[]> {
  const handles = [...new Set(findMentions(text).map((m) => m.handle))];
  if (handles.length === 0) return [];
  const candidates = await tx.$queryRaw<{ id: number; name: string; email: string }[]>`
    SELECT id, name, email FROM "User"
    WHERE active AND kind = 'PERSON' AND (lower(split_part(email, '@', 1)) = ANY(${handles}::text[])
                      OR lower(regexp_replace(name, '\\s+', '', 'g')) = ANY(${handles}::text[]))`;
  // Ambiguity is judged among everyone who answers to a handle (handleIndex drops shared ones).
  const index = handleIndex(candidates);
  return [...new Set(handles.map((h) => index.get(h)?.id).filter((id): id is number => id !== undefined))];
}

/** A text cut into plain parts and resolved mentions, for the ticket page (each part escaped there). */
export function mentionParts(text: string, index: ReadonlyMap<string, { name: string }>): ({ text: string } | { mention: string; name: string })[] {
  const parts: ({ text: string } | { mention: string; name: string })[] = [];
  let from = 0;
  for (const m of findMentions(text)) {
    const person = index.get(m.handle);
    if (!person) continue;
    if (m.start > from) parts.push({ text: text.slice(from, m.start) });
    parts.push({ mention: text.slice(m.start, m.end), name: person.name });
    from = m.end;
  }
  if (from < text.length) parts.push({ text: text.slice(from) });
  return parts;
}
