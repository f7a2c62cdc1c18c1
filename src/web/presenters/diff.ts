// Comparing two revisions of an article. Kept apart from the other presenters: the render worker
// loads this module and markdown.ts only.
import { diffLines, diffWords } from 'diff';

export interface DiffPart {
  kind: 'same' | 'added' | 'removed';
  text: string;
}

/** Two short texts (titles, at most 200 characters) as parts to show, word by word. */
export function compareWords(before: string, after: string): DiffPart[] {
  return diffWords(before, after).map(toPart);
}

/** Most lines added plus removed that a line-by-line comparison looks for before it gives up. */
export const MAX_EDIT_LINES = 2_000;

/**
 * Two revisions' texts line by line, or null when they differ by more than MAX_EDIT_LINES lines or
 * the comparison takes longer than `timeoutMs`: its cost grows with the size of the texts times the
 * number of changed lines (two very different 8,000-line texts took 32 s). Run by the render
 * worker (src/web/rendering), never on the main thread.
 */
export function compareLines(before: string, after: string, timeoutMs: number): DiffPart[] | null {
  const parts = diffLines(before, after, { maxEditLength: MAX_EDIT_LINES, timeout: timeoutMs });
  return parts ? parts.map(toPart) : null;
}

const toPart = (p: { added?: boolean; removed?: boolean; value: string }): DiffPart => ({
  kind: p.added ? 'added' : p.removed ? 'removed' : 'same',
  text: p.value,
});
