// Quoted earlier messages as other clients and languages write them, cut before email-reply-parser
// sees the text (src/mail/worker.ts) and in the linear fallback (simpleTrim, src/mail/parse.ts).
// email-reply-parser 2.1.0 knows many attribution lines ("On … wrote:", "Am … schrieb …:",
// "Le … a écrit :", …) but has no option to add more, misses Outlook's localized separators and
// header blocks without an address ("Von: Support / Gesendet: … / Betreff: …"), Gmail's attribution
// wrapped after "<", and keeps a quote that comes before the new text (bottom-posting).
//
// Bounded and linear: only the first MAX_LINES lines are looked at, each at most MAX_LINE
// characters, with anchored regular expressions that cannot backtrack (no nested or adjacent
// unbounded quantifiers); a line is looked at a constant number of times.
// A line is only a cut point when a quote follows it: an attribution line must be followed by
// ">" lines, a header block must have a subject field and at least two fields and text after it.
// "Von: Buchhaltung" in the middle of a customer's own text is therefore never cut.

/** Lines looked at for a cut point: a reply is at the top, and the body keeps 20,000 characters. */
export const MAX_LINES = 1000;
/** Characters of a line looked at. */
const MAX_LINE = 1000;
/** Lines a header block may have after its From line. */
const MAX_HEADER_FIELDS = 8;

/** Attribution lines: how each starts and the verb it must hold; the line ends with ":". */
const ATTRIBUTIONS: readonly [RegExp, RegExp][] = [
  [/^On\s/, /\swrote\s?:$/], // en
  [/^Am\s/, /\sschrieb(?:\s|:)/], // de
  [/^Le\s/, /\sa\sécrit\s?:$/], // fr
  [/^El\s/, /\sescribió\s?:$/], // es
  [/^Op\s/, /\sschreef(?:\s|:)/], // nl
  [/^(?:Il\s|In\sdata\s)/, /\sha\sscritto\s?:$/], // it
  [/^Em\s/, /\sescreveu\s?:$/], // pt
  [/^Den\s/, /\sskrev(?:\s|:)/], // sv, da, no
];

/** Outlook's and others' separators above a forwarded or quoted message. */
const SEPARATOR = /^-{3,}\s?(?:Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original|Messaggio originale|Mensagem original|Oorspronkelijk bericht|Originalmeddelande|Ursprungligt meddelande|Oprindelig meddelelse|Opprinnelig melding)\s?-{3,}$/i;
/** Outlook's line above its header block (only a cut point when a header block follows). */
const RULE = /^_{10,}$/;
/** The first field of a header block (Outlook, Lotus Notes; "*From:*" from HTML mail). */
const FROM_FIELD = /^\*?(?:From|Von|De|Van|Da|Från|Fra|Od)\s?:\*?\s/i;
const SUBJECT_FIELD = /^\*?(?:Subject|Betreff|Objet|Asunto|Oggetto|Onderwerp|Assunto|Ämne|Emne|Temat)\s?:\*?(?:\s|$)/i;
const OTHER_FIELD = /^\*?(?:Sent|Date|To|Cc|Bcc|Reply-To|Gesendet|Datum|An|Kopie|Envoyé|À|Enviado|Enviada|Fecha|Para|Verzonden|Verstuurd|Aan|Inviato|Data|A|Skickat|Till|Sendt|Til|Kopi|Wysłano|Do|Importance|Wichtigkeit)\s?:\*?(?:\s|$)/i;

/** A line without its quote markers ("> > "), trimmed; and whether it had any. */
function unquote(line: string): { text: string; quoted: boolean } {
  const s = line.length > MAX_LINE ? line.slice(0, MAX_LINE) : line;
  const m = /^[ \t]{0,4}(?:>[ \t]?){1,10}/.exec(s);
  return { text: (m ? s.slice(m[0].length) : s).trim(), quoted: m !== null };
}

const isQuoted = (line: string) => /^[ \t]{0,4}>/.test(line);
const isBlank = (line: string) => line.trim() === '';

function isAttributionText(text: string): boolean {
  if (!text.endsWith(':') || text.length > MAX_LINE) return false;
  return ATTRIBUTIONS.some(([start, verb]) => start.test(text) && verb.test(text));
}

/** How many lines (1 or 2: Gmail wraps it) the attribution starting at `i` takes; 0: none. */
function attributionAt(lines: string[], i: number): number {
  const first = unquote(lines[i]!);
  if (!first.text || !ATTRIBUTIONS.some(([start]) => start.test(first.text))) return 0;
  if (isAttributionText(first.text)) return 1;
  const next = lines[i + 1];
  if (next === undefined || isBlank(next)) return 0;
  const second = unquote(next);
  if (second.quoted !== first.quoted) return 0;
  // "… Support <" + "support@x>:" joins without a space; "… <x@y>" + "wrote:" with one.
  const joined = first.text.endsWith('<') ? first.text + second.text : `${first.text} ${second.text}`;
  return isAttributionText(joined) ? 2 : 0;
}

/** Whether the next line after `from` that is not blank is a quoted (">") line. */
function quoteFollows(lines: string[], from: number): boolean {
  for (let j = from; j < lines.length && j < from + 3; j++) {
    if (isBlank(lines[j]!)) continue;
    return isQuoted(lines[j]!);
  }
  return false;
}

/** Whether a line that is not blank follows `from` (within the lines looked at). */
function textFollows(lines: string[], from: number): boolean {
  for (let j = from; j < lines.length && j < from + 50; j++) if (!isBlank(lines[j]!)) return true;
  return false;
}

/** Whether a header block (From, …, Subject, then text) starts at `i`. */
function headerBlockAt(lines: string[], i: number): boolean {
  if (!FROM_FIELD.test(unquote(lines[i]!).text)) return false;
  let fields = 1;
  let subject = false;
  let j = i + 1;
  for (; j < lines.length && j <= i + MAX_HEADER_FIELDS; j++) {
    const text = unquote(lines[j]!).text;
    if (SUBJECT_FIELD.test(text)) subject = true;
    else if (!OTHER_FIELD.test(text)) break;
    fields++;
  }
  return subject && fields >= 3 && textFollows(lines, j);
}

/** Where the quoted earlier message starts in `lines` (its first line), or -1. */
function cutPoint(lines: string[], from: number): number {
  const end = Math.min(lines.length, MAX_LINES);
  for (let i = from; i < end; i++) {
    const line = lines[i]!;
    if (isBlank(line)) continue;
    const n = attributionAt(lines, i);
    if (n > 0 && quoteFollows(lines, i + n)) return i;
    const text = unquote(line).text;
    if (SEPARATOR.test(text) && textFollows(lines, i + 1)) return i;
    if (RULE.test(text) && i + 1 < lines.length && headerBlockAt(lines, i + 1)) return i;
    if (headerBlockAt(lines, i)) return i;
  }
  return -1;
}

/**
 * The text with the quoted earlier message cut: above the first attribution line, separator or
 * header block that a quote follows; or, for a bottom-posted reply (an attribution and ">" lines
 * first, the new text below), without that leading quote. Unchanged when nothing is found.
 */
export function cutQuotes(text: string): string {
  const lines = text.split('\n');
  let start = 0;
  while (start < lines.length && isBlank(lines[start]!)) start++;
  // Bottom-posting: the quote (with or without its attribution) comes first.
  let body = start;
  const n = start < lines.length ? attributionAt(lines, start) : 0;
  if (n > 0 && quoteFollows(lines, start + n)) body = start + n;
  if (body > start || (start < lines.length && isQuoted(lines[start]!))) {
    while (body < lines.length && body < MAX_LINES && (isQuoted(lines[body]!) || isBlank(lines[body]!))) body++;
    // All of it quoted (or past the lines looked at): leave it to email-reply-parser.
    if (body >= lines.length || body >= MAX_LINES) return text;
    start = body;
  }
  const cut = cutPoint(lines, start);
  const kept = lines.slice(start, cut < 0 ? undefined : cut);
  if (start === 0 && cut < 0) return text;
  return kept.join('\n');
}
