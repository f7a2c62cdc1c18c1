// Email addresses that look like other addresses.
//
// - The skeleton (Unicode TS #39, section 4): two addresses whose skeletons are equal look alike
//   ("ann@cust.tеst" with a Cyrillic е and "ann@cust.test"; also "rn" and "m", "0" and "o").
//   The prototypes come from Unicode's confusables.txt through the `unhomoglyph` package.
//   Addresses are compared case-insensitively (Caseboard stores them lower-case), with an
//   internationalised domain decoded from punycode first, so "ann@cust.xn--tst-rdd" (as a form
//   accepts it) and "ann@cust.tеst" (as mail delivers it) have the skeleton of "ann@cust.test".
// - How staff see an address: a domain with characters outside ASCII is also shown in punycode
//   (as DNS and the mail server know it), and a part of the address (the local part or one label
//   of the domain) that mixes scripts, or whose letters all imitate plain ASCII ones, is marked.
import { domainToASCII, domainToUnicode } from 'node:url';
import punycode from 'punycode.js';
import unhomoglyph from 'unhomoglyph';

/** Longest skeleton stored (code points): a prototype can be up to 18 characters long. */
export const SKELETON_MAX = 500;

const IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;
const ASCII_ONLY = /^[\x00-\x7f]*$/;

/** UTS #39 skeleton: NFD, default-ignorable code points removed, every character replaced by its prototype, NFD again. */
export function skeleton(text: string): string {
  return unhomoglyph(text.normalize('NFD').replace(IGNORABLE, '')).normalize('NFD');
}

function split(address: string): { local: string; domain: string } {
  const at = address.lastIndexOf('@');
  return at < 0 ? { local: address, domain: '' } : { local: address.slice(0, at), domain: address.slice(at + 1) };
}

/** The domain as mail clients show it: punycode labels decoded (leniently, if it is not a valid IDN). */
export function unicodeDomain(domain: string): string {
  if (domain === '') return domain;
  const decoded = domainToUnicode(domain);
  if (decoded) return decoded;
  try {
    return punycode.toUnicode(domain);
  } catch {
    return domain;
  }
}

/** The domain as DNS knows it: every label with characters outside ASCII in punycode. */
export function asciiDomain(domain: string): string {
  if (domain === '' || ASCII_ONLY.test(domain)) return domain;
  const encoded = domainToASCII(domain);
  if (encoded) return encoded;
  // Not a valid IDN (IDNA would refuse it): still shown unambiguously, label by label.
  try {
    return punycode.toASCII(domain.normalize('NFC'));
  } catch {
    return domain;
  }
}

/**
 * The skeleton of an address, as stored in Customer.emailSkeleton: equal skeletons, different
 * addresses = look-alikes. Case-insensitive (lower-cased before, and the prototypes again after).
 */
export function emailSkeleton(address: string): string {
  const { local, domain } = split(address.trim().toLowerCase());
  const text = domain === '' ? local : `${local}@${unicodeDomain(domain)}`;
  const once = skeleton(text.toLowerCase()).toLowerCase();
  const twice = skeleton(once);
  return twice.length <= SKELETON_MAX ? twice : [...twice].slice(0, SKELETON_MAX).join('');
}

/** Two different addresses that look alike (a possible impostor). */
export function looksAlike(a: string, b: string): boolean {
  return a.trim().toLowerCase() !== b.trim().toLowerCase() && emailSkeleton(a) === emailSkeleton(b);
}

// ---- Scripts (UTS #39 section 5: mixed-script detection), from the JavaScript engine's Unicode data.

/** Every script the engine's regular expressions know (ECMAScript's Script values); unknown names are skipped. */
const SCRIPT_NAMES = `Adlam Ahom Anatolian_Hieroglyphs Arabic Armenian Avestan Balinese Bamum Bassa_Vah Batak Bengali
Beria_Erfe Bhaiksuki Bopomofo Brahmi Braille Buginese Buhid Canadian_Aboriginal Carian Caucasian_Albanian Chakma Cham Cherokee
Chorasmian Coptic Cuneiform Cypriot Cypro_Minoan Cyrillic Deseret Devanagari Dives_Akuru Dogra Duployan
Egyptian_Hieroglyphs Elbasan Elymaic Ethiopic Garay Georgian Glagolitic Gothic Grantha Greek Gujarati Gunjala_Gondi
Gurmukhi Gurung_Khema Han Hangul Hanifi_Rohingya Hanunoo Hatran Hebrew Hiragana Imperial_Aramaic Inscriptional_Pahlavi
Inscriptional_Parthian Javanese Kaithi Kannada Katakana Kawi Kayah_Li Kharoshthi Khitan_Small_Script Khmer Khojki
Khudawadi Kirat_Rai Lao Latin Lepcha Limbu Linear_A Linear_B Lisu Lycian Lydian Mahajani Makasar Malayalam Mandaic
Manichaean Marchen Masaram_Gondi Medefaidrin Meetei_Mayek Mende_Kikakui Meroitic_Cursive Meroitic_Hieroglyphs Miao Modi
Mongolian Mro Multani Myanmar Nabataean Nag_Mundari Nandinagari New_Tai_Lue Newa Nko Nushu Nyiakeng_Puachue_Hmong
Ogham Ol_Chiki Ol_Onal Old_Hungarian Old_Italic Old_North_Arabian Old_Permic Old_Persian Old_Sogdian Old_South_Arabian
Old_Turkic Old_Uyghur Oriya Osage Osmanya Pahawh_Hmong Palmyrene Pau_Cin_Hau Phags_Pa Phoenician Psalter_Pahlavi
Rejang Runic Samaritan Saurashtra Sharada Shavian Siddham Sidetic SignWriting Sinhala Sogdian Sora_Sompeng Soyombo Sundanese
Sunuwar Syloti_Nagri Syriac Tagalog Tagbanwa Tai_Le Tai_Tham Tai_Viet Tai_Yo Takri Tamil Tangsa Tangut Telugu Thaana Thai
Tibetan Tifinagh Tirhuta Todhri Tolong_Siki Toto Tulu_Tigalari Ugaritic Vai Vithkuqi Wancho Warang_Citi Yezidi Yi
Zanabazar_Square`.split(/\s+/);

const SCRIPTS: { name: string; re: RegExp }[] = SCRIPT_NAMES.flatMap((name) => {
  try {
    return [{ name, re: new RegExp(`\\p{Script_Extensions=${name}}`, 'u') }];
  } catch {
    return [];
  }
});

/** Scripts known to the engine (for the completeness test). */
export const KNOWN_SCRIPTS: readonly string[] = SCRIPTS.map((s) => s.name);

/** Common and Inherited characters (digits, punctuation, combining marks) go with any script. */
const ANY_SCRIPT = /^[\p{Script_Extensions=Common}\p{Script_Extensions=Inherited}]$/u;

/** Han goes with Japanese kana, Hangul and Bopomofo (UTS #39's augmented script sets). */
const AUGMENT: Record<string, string[]> = {
  Han: ['Jpan', 'Kore', 'Hanb'],
  Hiragana: ['Jpan'],
  Katakana: ['Jpan'],
  Hangul: ['Kore'],
  Bopomofo: ['Hanb'],
};

const scriptCache = new Map<string, readonly string[] | null>();

/** A character's scripts (its Script_Extensions, augmented); null for any script. */
function scriptsOf(ch: string): readonly string[] | null {
  const cached = scriptCache.get(ch);
  if (cached !== undefined) return cached;
  let result: readonly string[] | null;
  if (ASCII_ONLY.test(ch)) result = /[a-z]/i.test(ch) ? ['Latin'] : null;
  else if (ANY_SCRIPT.test(ch)) result = null;
  else {
    const names = SCRIPTS.filter((s) => s.re.test(ch)).map((s) => s.name);
    result = names.length === 0 ? null : [...names, ...names.flatMap((n) => AUGMENT[n] ?? [])];
  }
  // A bounded cache: an address has a few dozen characters, a page a few hundred.
  if (scriptCache.size >= 4096) scriptCache.clear();
  scriptCache.set(ch, result);
  return result;
}

const LABEL: Record<string, string> = { Jpan: 'Japanese', Kore: 'Korean', Hanb: 'Han with Bopomofo' };
const scriptLabel = (name: string) => LABEL[name] ?? name.replace(/_/g, ' ');

/**
 * The scripts a text mixes, when no one script (or Latin with Japanese, Korean or Chinese with
 * Bopomofo: UTS #39 "highly restrictive") covers all its letters; empty when it is single-script.
 */
export function mixedScripts(text: string): string[] {
  let common: Set<string> | null = null;
  const seen: string[] = [];
  const nonLatin: (readonly string[])[] = [];
  for (const ch of text.normalize('NFC')) {
    const scripts = scriptsOf(ch);
    if (scripts === null) continue;
    const first = scripts[0]!;
    if (!seen.includes(first)) seen.push(first);
    if (!scripts.includes('Latin')) nonLatin.push(scripts);
    common = common === null ? new Set(scripts) : new Set(scripts.filter((s) => common!.has(s)));
  }
  if (common === null || common.size > 0) return [];
  // Latin with Japanese, Korean or Han+Bopomofo is usual (and allowed by "highly restrictive").
  const rest = nonLatin.reduce<Set<string> | null>((acc, s) => (acc === null ? new Set(s) : new Set(s.filter((x) => acc.has(x)))), null);
  if (rest && ['Jpan', 'Kore', 'Hanb'].some((s) => rest.has(s))) return [];
  return seen.map(scriptLabel);
}

// ---- How staff see an address.

export interface AddressPiece {
  text: string;
  /** A character outside ASCII (highlighted where the address is marked as a look-alike). */
  odd: boolean;
  /** Its code point(s), "U+0435", for a tooltip. */
  code?: string;
}

export interface AddressView {
  /** As stored. */
  address: string;
  /** False for a plain ASCII address without punycode labels: shown as it is, nothing else to say. */
  international: boolean;
  /** The address as mail clients show it (domain decoded from punycode), in pieces. */
  pieces: AddressPiece[];
  /** The address with its domain in punycode, when that differs from how mail clients show it. */
  ascii: string | null;
  /** Why it may imitate another address ("“tеst” mixes Latin and Cyrillic; it reads as “test”"); empty if nothing. */
  lookalike: string[];
}

const PLAIN = /^[\x21-\x7e]*$/;
const PUNYCODE_LABEL = /(^|[.@])xn--/i;
const INVISIBLE = /^[\p{Default_Ignorable_Code_Point}\p{Cc}\p{Cf}\p{Zs}]$/u;
const codeOf = (ch: string) =>
  [...ch].map((c) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`).join(' ');

function labelReasons(raw: string, what: string): string[] {
  // Invisible characters have their own reason; here, what the visible ones spell.
  const label = [...raw].filter((ch) => !INVISIBLE.test(ch)).join('');
  if (ASCII_ONLY.test(label)) return [];
  const mixed = mixedScripts(label);
  const reads = skeleton(label.toLowerCase()).toLowerCase();
  const readsAscii = ASCII_ONLY.test(reads) ? `; it reads as “${reads}”` : '';
  if (mixed.length > 1) return [`${what} “${label}” mixes ${mixed.slice(0, -1).join(', ')} and ${mixed.at(-1)} letters${readsAscii}.`];
  if (readsAscii) return [`${what} “${label}” is written in ${scriptOfLabel(label)} letters that look like plain ones${readsAscii}.`];
  return [];
}

function scriptOfLabel(label: string): string {
  for (const ch of label) {
    const s = scriptsOf(ch);
    if (s) return scriptLabel(s[0]!);
  }
  return 'other';
}

/** What the pages show for an address (see AddressView). */
export function viewAddress(address: string): AddressView {
  if (PLAIN.test(address) && !PUNYCODE_LABEL.test(address)) {
    return { address, international: false, pieces: [{ text: address, odd: false }], ascii: null, lookalike: [] };
  }
  const { local, domain } = split(address);
  const shown = unicodeDomain(domain);
  const unicode = domain === '' ? local : `${local}@${shown}`;
  const encoded = domain === '' ? local : `${local}@${asciiDomain(shown)}`;
  const pieces: AddressPiece[] = [];
  for (const ch of unicode) {
    const odd = !PLAIN.test(ch);
    const last = pieces.at(-1);
    if (!odd && last && !last.odd) last.text += ch;
    else pieces.push(odd ? { text: ch, odd, code: codeOf(ch) } : { text: ch, odd });
  }
  const invisible = [...address].filter((ch) => INVISIBLE.test(ch));
  const lookalike = [
    ...(invisible.length ? [`It contains invisible characters (${[...new Set(invisible.map(codeOf))].join(', ')}).`] : []),
    ...labelReasons(local, 'The name before @'),
    ...shown.split('.').flatMap((label) => labelReasons(label, 'The domain part')),
  ];
  return { address, international: true, pieces, ascii: encoded !== unicode ? encoded : null, lookalike };
}

/**
 * The address in plain ASCII, unmistakable in any text (a message, a log): the domain in
 * punycode, any other character outside printable ASCII as "[U+0430]".
 */
export function unambiguousAddress(address: string): string {
  if (PLAIN.test(address)) return address;
  const { local, domain } = split(address);
  const text = domain === '' ? local : `${local}@${asciiDomain(unicodeDomain(domain))}`;
  return [...text].map((ch) => (PLAIN.test(ch) ? ch : `[${codeOf(ch)}]`)).join('');
}
