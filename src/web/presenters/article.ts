import { HIT_END, HIT_START } from '../../services/knowledge/read-articles.js';

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' })[c]!);

/** A search snippet as safe HTML: the text escaped, the matched words in <mark>. */
export function snippetHtml(snippet: string): string {
  return escapeHtml(snippet.replaceAll('\n', ' ')).replaceAll(HIT_START, '<mark>').replaceAll(HIT_END, '</mark>');
}
