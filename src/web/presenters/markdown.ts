import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Marked } from 'marked';
import sanitizeHtml from 'sanitize-html';

// Markdown → HTML with marked, then everything not on the allow-list removed by sanitize-html:
// no raw HTML survives, no script, no event handler, no javascript:/data: link.
//
// markdownToHtml itself is unbounded: some texts make marked run for minutes ('_a*' × 8,000 takes
// ~10 s) or overflow its stack ('>' × 2,000). Pages never call it directly: they go through the
// renderer (src/web/rendering/renderer.ts), which runs it in a worker thread with a time limit and
// keeps the result.
const marked = new Marked({ gfm: true, breaks: false, async: false });

const ALLOWED_TAGS = [
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'p', 'br', 'hr', 'blockquote', 'pre', 'code', 'kbd',
  'ul', 'ol', 'li', 'strong', 'em', 'del', 's', 'a', 'img', 'table', 'thead', 'tbody', 'tr', 'th', 'td',
  'input', // GFM task lists
];

const SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: ALLOWED_TAGS,
  allowedAttributes: {
    a: ['href', 'title', 'rel'],
    img: ['src', 'alt', 'title'],
    th: ['align'],
    td: ['align'],
    code: ['class'],
    input: ['type', 'checked', 'disabled'],
  },
  allowedClasses: { code: [/^language-[\w-]+$/] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['http', 'https'] },
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  transformTags: {
    a: sanitizeHtml.simpleTransform('a', { rel: 'noopener noreferrer nofollow' }),
    input: (tagName, attribs) =>
      attribs.type === 'checkbox'
        ? { tagName, attribs: { type: 'checkbox', disabled: '', ...(attribs.checked !== undefined ? { checked: '' } : {}) } }
        : { tagName: 'span', attribs: {} },
  },
};

/**
 * Safe HTML for an article body written in Markdown. Unbounded in time: only the render worker
 * calls it (see the comment above).
 */
export function markdownToHtml(source: string): string {
  return sanitizeHtml(marked.parse(source) as string, SANITIZE);
}

/**
 * What produced a stored rendering: the libraries' versions and the sanitizer's settings. Kept
 * renderings are found by a hash that includes it, so upgrading marked or sanitize-html, or
 * changing the allow-list, renders every text anew (a sanitizer fix also applies to old texts).
 */
const requireCjs = createRequire(import.meta.url);
export const RENDERER_ID = createHash('sha256')
  .update(
    JSON.stringify({
      marked: (requireCjs('marked/package.json') as { version: string }).version,
      sanitizeHtml: (requireCjs('sanitize-html/package.json') as { version: string }).version,
      options: { gfm: true, breaks: false },
      sanitize: JSON.stringify(SANITIZE, (_k, v: unknown) =>
        typeof v === 'function' ? v.toString() : v instanceof RegExp ? v.toString() : v,
      ),
      markdownToHtml: markdownToHtml.toString(),
    }),
  )
  .digest('hex')
  .slice(0, 16);

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' })[c]!);

/** The text as written, escaped, for when it cannot be rendered (shown with white space kept). */
export function plainTextHtml(source: string): string {
  return `<div class="prose markdown-fallback">${escapeHtml(source)}</div>`;
}
