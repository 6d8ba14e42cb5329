import { canonical } from '../tokens/codec.js'
import { type ClaimRules, keyJwt } from './key-jwt.js'

export type { ClaimRules } from './key-jwt.js'

/** A key that verifies tokens: the token's header names it (`kid`), the key alone fixes the algorithm. */
export interface VerifyingKey {
  /** The `kid` tokens carry; undefined: the key for tokens that name none (SimpleJWT's HMAC key). */
  kid: string | undefined
  alg: string
  /** The HMAC secret, or the public key as SPKI PEM. */
  key: string
}

type Verify = (token: string) => Record<string, unknown>

interface Entry {
  alg: string
  key: string
  /** The key's @fastify/jwt verifier (src/keys/key-jwt.ts), for tokens not in the cache below. */
  verify: Verify
  /**
   * Payloads of tokens this key verified, by the token's exact text (canonical, so one signature has
   * one spelling). A hit skips the signature; exp and nbf are checked again on every hit. The
   * plugin's own cache (fast-jwt's) is keyed on a SHA-256 of the token, which cost more than the
   * HMAC it saved.
   */
  verified: Map<string, Record<string, unknown>>
}

/** Tokens remembered per key: the newest, oldest first out. */
const VERIFIED_CACHE_SIZE = 10_000

/** Whether a payload verified earlier is still within its exp and nbf (seconds), as fast-jwt checks. */
function stillValid(payload: Record<string, unknown>, nowMs: number): boolean {
  const { exp, nbf } = payload
  if (typeof exp === 'number' && nowMs >= exp * 1000) return false
  return !(typeof nbf === 'number' && nowMs < nbf * 1000)
}

/** Header fields that would let a token choose or carry its own key, or demand rules we do not know. */
const REFUSED_HEADER_FIELDS = ['jwk', 'jku', 'x5u', 'x5c', 'crit']
/** Distinct header segments remembered; each key's tokens share one, so a handful ever occur. */
const HEADER_CACHE_SIZE = 64

/**
 * Verification over a set of keys, each with its one pinned algorithm. A token's header only
 * names a key: a `kid` not in the set, an `alg` other than that key's, or a key carried or pointed
 * to by the header (`jwk`, `jku`, `x5u`, `x5c`) fails, whatever the signature.
 * Shared by our keyring and by the resource-server kit, so both refuse the same tokens.
 */
export class KeyVerifiers {
  private byKid = new Map<string | undefined, Entry>()
  /** Header segment -> key: parsing the header is skipped for the headers seen before. */
  private byHeader = new Map<string, Entry>()

  constructor(
    private readonly rules: ClaimRules = {},
    /** Told of a kid not in the set, so the owner may look for new keys (the token still fails). */
    private readonly onUnknownKid?: (kid: string) => void,
  ) {}

  /** Replaces the set; keys already held keep their verifier and its cache. */
  set(keys: VerifyingKey[]): void {
    const next = new Map<string | undefined, Entry>()
    for (const { kid, alg, key } of keys) {
      const held = this.byKid.get(kid)
      next.set(kid, held && held.alg === alg && held.key === key ? held : this.entry(alg, key))
    }
    this.byKid = next
    this.byHeader = new Map()
  }

  has(kid: string | undefined): boolean {
    return this.byKid.has(kid)
  }

  /** True when a token with this header verified before: its key is held, no need to look further. */
  knowsHeaderOf(token: string): boolean {
    return this.byHeader.has(token.slice(0, token.indexOf('.')))
  }

  /** The payload of a token whose signature (by the key it names), exp, nbf, iss and aud hold; throws otherwise. */
  verify(token: string, once = false): Record<string, unknown> {
    const dot = token.indexOf('.')
    if (dot < 1) throw new Error('not a JWT')
    const segment = token.slice(0, dot)
    let entry = this.byHeader.get(segment)
    if (!entry) {
      entry = this.entryForHeader(segment)
      if (this.byHeader.size < HEADER_CACHE_SIZE) this.byHeader.set(segment, entry)
    }
    if (once) return entry.verify(canonical(token))
    const hit = entry.verified.get(token)
    if (hit !== undefined && stillValid(hit, Date.now())) return hit
    const payload = entry.verify(canonical(token))
    if (entry.verified.size >= VERIFIED_CACHE_SIZE) entry.verified.delete(entry.verified.keys().next().value!)
    entry.verified.set(token, payload)
    return payload
  }

  /**
   * The key a decoded header names, with the same refusals as verify: for @fastify/jwt's secret
   * function, where the plugin has decoded the header already (`request.jwtVerify()`).
   */
  keyFor(header: unknown): VerifyingKey {
    const entry = this.entryFor(header)
    return { kid: (header as { kid?: string }).kid, alg: entry.alg, key: entry.key }
  }

  private entryForHeader(segment: string): Entry {
    let header: unknown
    try {
      header = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
    } catch {
      throw new Error('unreadable header')
    }
    return this.entryFor(header)
  }

  private entryFor(header: unknown): Entry {
    if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new Error('bad header')
    const { alg, kid } = header as Record<string, unknown>
    if (REFUSED_HEADER_FIELDS.some((field) => field in header)) throw new Error('header carries a key')
    if (kid !== undefined && typeof kid !== 'string') throw new Error('kid is not a string')
    const entry = this.byKid.get(kid)
    if (!entry) {
      if (kid !== undefined) this.onUnknownKid?.(kid)
      throw new Error('unknown key')
    }
    if (alg !== entry.alg) throw new Error('algorithm is not the key’s')
    return entry
  }

  private entry(alg: string, key: string): Entry {
    const jwt = keyJwt({ alg, verifyKey: key, ...this.rules })
    return { alg, key, verify: (token) => jwt.verify(token), verified: new Map() }
  }
}
