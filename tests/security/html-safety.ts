// Reads an HTML page the way a browser's tokenizer would (tags, attributes, quoted values,
// comments, raw-text and RCDATA elements) and reports anything that could run script:
// - a <script> that is not one of the app's own files (/public/…, no inline code);
// - an event-handler attribute (on…=) on any element;
// - a javascript:, vbscript: or data: URL in an attribute that loads or navigates;
// - elements the templates never produce and injected markup uses (iframe, object, embed, svg,
//   math, base, frame, meta http-equiv).
// Deliberately small and strict: the app's templates use none of these, so anything found is
// injected.

export interface Finding {
  what: string;
  at: string;
}

const URL_ATTRIBUTES = new Set(['href', 'src', 'action', 'formaction', 'xlink:href', 'data', 'poster', 'background', 'srcdoc', 'cite', 'ping']);
const FOREIGN = new Set(['iframe', 'frame', 'object', 'embed', 'svg', 'math', 'base', 'applet', 'portal']);
const RAW_TEXT = new Set(['script', 'style']);
const RCDATA = new Set(['textarea', 'title']);

/** Entities decoded once, as a browser decodes an attribute or text (so &amp;lt; stays &lt;). */
export function decodeEntities(s: string): string {
  const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'", nbsp: '\u00a0', colon: ':', tab: '\t', newline: '\n' };
  return s.replace(/&(#\d+|#x[0-9a-f]+|[a-z]+);?/gi, (m, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(code) ? String.fromCodePoint(code) : m;
    }
    return named[e.toLowerCase()] ?? m;
  });
}

/** A URL as a browser reads its scheme: entities decoded, whitespace and control characters dropped. */
function scheme(value: string): string {
  return decodeEntities(value).replace(/[\u0000-\u0020\u007f-\u009f]/g, '').toLowerCase();
}

interface Tag {
  name: string;
  attrs: [string, string][];
  start: number;
  end: number;
}

/** The start tags of a page, in order, skipping comments and the content of raw-text/RCDATA elements. */
export function startTags(html: string): { tags: Tag[]; scripts: { tag: Tag; content: string }[] } {
  const tags: Tag[] = [];
  const scripts: { tag: Tag; content: string }[] = [];
  let i = 0;
  while (i < html.length) {
    const lt = html.indexOf('<', i);
    if (lt < 0) break;
    if (html.startsWith('<!--', lt)) {
      const close = html.indexOf('-->', lt + 4);
      i = close < 0 ? html.length : close + 3;
      continue;
    }
    const nameMatch = /^<([a-zA-Z][^\s/>]*)/.exec(html.slice(lt, lt + 100));
    if (!nameMatch) {
      i = lt + 1;
      continue;
    }
    const name = nameMatch[1]!.toLowerCase();
    let p = lt + nameMatch[0].length;
    const attrs: [string, string][] = [];
    // Attributes, as the HTML tokenizer reads them.
    while (p < html.length) {
      while (p < html.length && /[\s/]/.test(html[p]!)) p++;
      if (p >= html.length || html[p] === '>') break;
      let an = '';
      while (p < html.length && !/[\s/>=]/.test(html[p]!)) an += html[p++];
      if (!an) an = html[p++] ?? '';
      while (p < html.length && /\s/.test(html[p]!)) p++;
      let value = '';
      if (html[p] === '=') {
        p++;
        while (p < html.length && /\s/.test(html[p]!)) p++;
        const q = html[p];
        if (q === '"' || q === "'") {
          const close = html.indexOf(q, p + 1);
          value = html.slice(p + 1, close < 0 ? html.length : close);
          p = close < 0 ? html.length : close + 1;
        } else {
          while (p < html.length && !/[\s>]/.test(html[p]!)) value += html[p++];
        }
      }
      attrs.push([an.toLowerCase(), value]);
    }
    const tag: Tag = { name, attrs, start: lt, end: p + 1 };
    tags.push(tag);
    i = p + 1;
    if (RAW_TEXT.has(name) || RCDATA.has(name)) {
      // Everything up to the matching end tag is text (the browser does the same).
      const close = html.toLowerCase().indexOf(`</${name}`, i);
      const content = html.slice(i, close < 0 ? html.length : close);
      if (name === 'script') scripts.push({ tag, content });
      i = close < 0 ? html.length : close;
    }
  }
  return { tags, scripts };
}

/** Everything on the page that could run script (empty when the page is safe). */
export function scriptHazards(html: string): Finding[] {
  const found: Finding[] = [];
  const { tags, scripts } = startTags(html);
  const at = (t: Tag) => html.slice(Math.max(0, t.start - 40), Math.min(html.length, t.end + 40)).replace(/\s+/g, ' ');
  for (const { tag, content } of scripts) {
    const src = tag.attrs.find(([n]) => n === 'src')?.[1] ?? '';
    if (!src.startsWith('/public/') || content.trim() !== '') found.push({ what: 'a script that is not the app’s own', at: at(tag) });
  }
  for (const tag of tags) {
    if (FOREIGN.has(tag.name)) found.push({ what: `a <${tag.name}> element`, at: at(tag) });
    if (tag.name === 'meta' && tag.attrs.some(([n]) => n === 'http-equiv')) found.push({ what: 'a <meta http-equiv>', at: at(tag) });
    for (const [n, v] of tag.attrs) {
      if (n.startsWith('on')) found.push({ what: `an event handler attribute ${n}=`, at: at(tag) });
      if (URL_ATTRIBUTES.has(n) && /^(javascript|vbscript|data):/.test(scheme(v))) found.push({ what: `a ${scheme(v).split(':')[0]}: URL in ${n}=`, at: at(tag) });
      if (n === 'style' && /expression\(|javascript:|url\(/i.test(decodeEntities(v))) found.push({ what: 'a style attribute with script or a URL', at: at(tag) });
    }
  }
  return found;
}
