import { diffLines, diffWords } from 'diff';
import { HIT_END, HIT_START } from '../../services/knowledge/read-articles.js';

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' })[c]!);

/** A search snippet as safe HTML: the text escaped, the matched words in <mark>. */
export function snippetHtml(snippet: string): string {
  return escapeHtml(snippet.replaceAll('\n', ' ')).replaceAll(HIT_START, '<mark>').replaceAll(HIT_END, '</mark>');
}

export interface DiffPart {
  kind: 'same' | 'added' | 'removed';
  text: string;
}

/** Two revisions' texts as parts to show: unchanged, added, removed (line by line, words within a title). */
export function compareTexts(before: string, after: string, by: 'lines' | 'words' = 'lines'): DiffPart[] {
  const parts = by === 'lines' ? diffLines(before, after) : diffWords(before, after);
  return parts.map((p) => ({ kind: p.added ? 'added' : p.removed ? 'removed' : 'same', text: p.value }));
}
