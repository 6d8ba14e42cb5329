/**
 * The username rules beyond Django's character set (issue 25 items 4 and 15), in one place for the
 * API, the CLI, ADMIN_USERNAME and `import-django`:
 * - NFKC, as Django's `normalize_username`: `ｃａｒｏｌ` (fullwidth) is stored and looked up as
 *   `carol`, `①carol` as `1carol`. New usernames are normalised; an import refuses one that is not.
 * - One script: the letters of a username come from one Unicode script, or from the combinations
 *   of UTS #39's "highly restrictive" level (Latin with Han, Hiragana and Katakana; Latin with Han
 *   and Bopomofo; Latin with Han and Hangul). `сarol` with a Cyrillic `с` is refused; digits and
 *   `_ . @ + -` belong to no script and go with any.
 * - A username with `@` is an e-mail address, and must be the account's own: it is looked up as
 *   one (e-mails first), so it must never name another account's address.
 */

/** Django's normalize_username. */
export function normalizeUsername(username: string): string {
  return username.normalize('NFKC')
}

// Every script JavaScript's regular expressions know by name (Unicode 15); Common and Inherited
// (digits, punctuation, combining marks) are left out: they go with any script. A letter of a
// script missing here (newer than Unicode 15) counts as a script of its own.
const SCRIPTS = `Adlam Ahom Anatolian_Hieroglyphs Arabic Armenian Avestan Balinese Bamum Bassa_Vah Batak
Bengali Bhaiksuki Bopomofo Brahmi Braille Buginese Buhid Canadian_Aboriginal Carian Caucasian_Albanian
Chakma Cham Cherokee Chorasmian Coptic Cuneiform Cypriot Cypro_Minoan Cyrillic Deseret Devanagari
Dives_Akuru Dogra Duployan Egyptian_Hieroglyphs Elbasan Elymaic Ethiopic Georgian Glagolitic Gothic
Grantha Greek Gujarati Gunjala_Gondi Gurmukhi Han Hangul Hanifi_Rohingya Hanunoo Hatran Hebrew Hiragana
Imperial_Aramaic Inscriptional_Pahlavi Inscriptional_Parthian Javanese Kaithi Kannada Katakana Kawi
Kayah_Li Kharoshthi Khitan_Small_Script Khmer Khojki Khudawadi Lao Latin Lepcha Limbu Linear_A Linear_B
Lisu Lycian Lydian Mahajani Makasar Malayalam Mandaic Manichaean Marchen Masaram_Gondi Medefaidrin
Meetei_Mayek Mende_Kikakui Meroitic_Cursive Meroitic_Hieroglyphs Miao Modi Mongolian Mro Multani Myanmar
Nabataean Nag_Mundari Nandinagari New_Tai_Lue Newa Nko Nushu Nyiakeng_Puachue_Hmong Ogham Ol_Chiki
Old_Hungarian Old_Italic Old_North_Arabian Old_Permic Old_Persian Old_Sogdian Old_South_Arabian
Old_Turkic Old_Uyghur Oriya Osage Osmanya Pahawh_Hmong Palmyrene Pau_Cin_Hau Phags_Pa Phoenician
Psalter_Pahlavi Rejang Runic Samaritan Saurashtra Sharada Shavian Siddham SignWriting Sinhala Sogdian
Sora_Sompeng Soyombo Sundanese Syloti_Nagri Syriac Tagalog Tagbanwa Tai_Le Tai_Tham Tai_Viet Takri Tamil
Tangsa Tangut Telugu Thaana Thai Tibetan Tifinagh Tirhuta Toto Ugaritic Vai Vithkuqi Wancho Warang_Citi
Yezidi Yi Zanabazar_Square`
  .split(/\s+/)
  .map((name) => [name, new RegExp(`^\\p{Script=${name}}$`, 'u')] as const)

/** Mixes of scripts one writing system uses (UTS #39, highly restrictive). */
const ALLOWED_MIXES = [
  ['Latin', 'Han', 'Hiragana', 'Katakana'],
  ['Latin', 'Han', 'Bopomofo'],
  ['Latin', 'Han', 'Hangul'],
]

const LETTER = /^[\p{L}\p{N}]$/u
const NEUTRAL = /^[\p{Script=Common}\p{Script=Inherited}]$/u

/** The scripts of a username's letters and digits (Common and Inherited left out). */
export function scriptsOf(username: string): Set<string> {
  const found = new Set<string>()
  for (const char of username) {
    if (!LETTER.test(char) || NEUTRAL.test(char)) continue
    found.add(SCRIPTS.find(([, re]) => re.test(char))?.[0] ?? 'Unknown')
  }
  return found
}

/** Whether the username mixes scripts beyond what one writing system does (see the top). */
export function mixesScripts(username: string): boolean {
  const scripts = [...scriptsOf(username)]
  if (scripts.length <= 1) return false
  return !ALLOWED_MIXES.some((mix) => scripts.every((s) => mix.includes(s)))
}

/** A username shaped like an address (it holds `@`) that is not the account's own e-mail. */
export function foreignAddress(username: string, email: string): boolean {
  return username.includes('@') && username.toLowerCase() !== email.toLowerCase()
}

export const usernameMessages = {
  mixedScripts:
    'Enter a valid username. Its letters must come from one script (for example Latin or Cyrillic, not both).',
  foreignAddress: "A username with @ must be the account's own e-mail address.",
  notNormalized: 'Enter a valid username. It must be in Unicode normal form NFKC.',
  isAnotherEmail: "This username is another account's e-mail address.",
  isAnotherUsername: "This e-mail address is another account's username.",
} as const
