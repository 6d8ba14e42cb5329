import { isIP } from 'node:net'

// Node 20 has both (ES2024); the project's ES2022 lib does not declare them.
declare global {
  interface String {
    isWellFormed(): boolean
    toWellFormed(): string
  }
}

/**
 * Text from a request, as a row can hold it: the one rule for every value a client sends that is
 * stored (audit rows and their JSON, session device fields). PostgreSQL refuses NUL in text and
 * jsonb, and a lone UTF-16 surrogate in JSON (JSON.stringify writes it as an escape that `json`
 * and `jsonb` reject); varchar(n) counts code points. So lone surrogates and NUL become U+FFFD,
 * and the text is cut after `max` code points, never between the halves of a surrogate pair.
 */
export function storableText(text: string, max: number): string {
  let out = text.isWellFormed() ? text : text.toWellFormed()
  if (out.includes('\u0000')) out = out.replaceAll('\u0000', '\uFFFD')
  // A string holds at least as many UTF-16 units as code points: short ones need no count.
  return out.length <= max ? out : firstCodePoints(out, max)
}

function firstCodePoints(text: string, max: number): string {
  let units = 0
  for (let points = 0; points < max && units < text.length; points++) {
    const unit = text.charCodeAt(units)
    // Well-formed by now: a high surrogate is always followed by its low half.
    units += unit >= 0xd800 && unit <= 0xdbff ? 2 : 1
  }
  return text.slice(0, units)
}

/** The longest string kept inside stored JSON, and the deepest nesting. */
export const MAX_JSON_TEXT = 1000
const MAX_JSON_DEPTH = 8

/**
 * A value as stored JSON can hold it: every string and key through storableText, numbers finite,
 * nothing JSON.stringify would throw on (a bigint, a cycle) or silently turn into something else.
 */
export function storableJson(value: unknown, depth = 0): unknown {
  switch (typeof value) {
    case 'string':
      return storableText(value, MAX_JSON_TEXT)
    case 'number':
      return Number.isFinite(value) ? value : null
    case 'boolean':
      return value
    case 'bigint':
      return value.toString()
    case 'object': {
      if (value === null || depth >= MAX_JSON_DEPTH) return null
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString()
      if (Array.isArray(value)) return value.map((item) => storableJson(item, depth + 1) ?? null)
      const out: Record<string, unknown> = {}
      for (const key in value) {
        if (!Object.hasOwn(value, key)) continue
        const stored = storableJson((value as Record<string, unknown>)[key], depth + 1)
        if (stored === undefined) continue
        const name = storableText(key, 200)
        // A key "__proto__" is data here, not the object's prototype (as JSON.parse makes it).
        if (name === '__proto__')
          Object.defineProperty(out, name, { value: stored, enumerable: true, writable: true })
        else out[name] = stored
      }
      return out
    }
    default:
      // undefined, functions, symbols: JSON leaves them out.
      return undefined
  }
}

/** The longest IP address in text (an IPv6 address with an IPv4 tail): the ip columns' width. */
export const MAX_IP_LENGTH = 45

/** A client address as stored: a valid IPv4 or IPv6 address that fits the column, or null. */
export function storableIp(ip: string | null | undefined): string | null {
  return typeof ip === 'string' && ip.length <= MAX_IP_LENGTH && isIP(ip) !== 0 ? ip : null
}
