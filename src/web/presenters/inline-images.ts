// An entry's text with its inline images in place. Mail clients write an image embedded in a
// message as "[cid:<Content-ID>]" in the text (Outlook's plain-text part does; Caseboard's own
// HTML-to-text conversion does the same, src/mail/worker.ts): where such a mark names an image
// attached to the same entry, the page shows the stored image there. Any other mark stays text —
// a customer typing one can only point at an image of their own entry.
import { IMAGE_TYPES } from '../../services/attachments/files.js';

/** What the page needs of a file to show it in place. */
export interface InlineCandidate {
  id: number;
  fileName: string;
  mediaType: string;
  contentId: string | null;
  redacted: unknown;
}

export type BodyPart = { text: string } | { image: InlineCandidate };

/** Images shown in one text at most; marks past that stay text. */
const MAX_IMAGES = 20;
const MARK = /\[cid:([^\s[\]<>]{1,255})\]/g;

/** The text cut at its inline-image marks (one linear pass); a text without marks is one part. */
export function bodyParts(text: string, files: readonly InlineCandidate[]): BodyPart[] {
  const byCid = new Map<string, InlineCandidate>();
  for (const f of files) if (f.contentId && !f.redacted && IMAGE_TYPES.has(f.mediaType)) byCid.set(f.contentId.toLowerCase(), f);
  if (byCid.size === 0 || !text.includes('[cid:')) return [{ text }];
  const parts: BodyPart[] = [];
  let from = 0;
  let shown = 0;
  for (const m of text.matchAll(MARK)) {
    const image = byCid.get(m[1]!.toLowerCase());
    if (!image || shown >= MAX_IMAGES) continue;
    if (m.index > from) parts.push({ text: text.slice(from, m.index) });
    parts.push({ image });
    from = m.index + m[0].length;
    shown++;
  }
  if (from < text.length) parts.push({ text: text.slice(from) });
  return parts;
}
