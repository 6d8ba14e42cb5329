// Control characters (C0, DEL, C1), invisible format characters (bidirectional overrides among
// them), line and paragraph separators, and lone surrogates.
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu

const escaped = (c: string) => `\\u{${c.codePointAt(0)!.toString(16)}}`

/**
 * Text read from outside as a terminal may show it: what is not printable is written as a
 * `\u{..}` escape, so a value cannot move the cursor, clear the screen, end the line or hide what
 * follows it; more than `max` characters are cut.
 */
export function printable(text: string, max = 200): string {
  const cut = text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text
  return cut.replace(UNPRINTABLE, escaped)
}

/** `printable` in double quotes, with `"` and `\` escaped, so where the value ends is never in doubt. */
export function quoted(text: string, max = 200): string {
  const cut = text.length > max ? text.slice(0, max) : text
  const inner = cut.replace(/["\\]/g, '\\$&').replace(UNPRINTABLE, escaped)
  return text.length > max ? `"${inner}"… (${text.length} characters)` : `"${inner}"`
}
