import { type ClaimRules, KeyVerifiers } from '../keys/verifiers.js'
import { pemOfJwk } from '../keys/material.js'
import type { TokenCodec } from '../tokens/codec.js'

export interface JwksKeysOptions extends ClaimRules {
  /** Where the keys are published: our `/.well-known/jwks.json`. */
  jwksUrl: string
  /** Fetches the key set again after this long (default 300 s). */
  refreshSeconds?: number
  /** A kid we do not hold makes us fetch at most this often (default 1 s). */
  minRefetchMs?: number
  fetch?: typeof fetch
}

/**
 * Our public keys, fetched from the JWKS and kept current, as a verify-only TokenCodec for the
 * resource-server kit. Each key verifies with the `alg` it is published with and nothing else;
 * HMAC (`oct`) keys are never accepted from a key set.
 */
export class JwksKeys implements TokenCodec {
  private readonly verifiers: KeyVerifiers
  private fetching: Promise<void> | undefined
  private lastFetchMs = 0
  /** How many keys the last fetch listed, and how many of them we can verify with. */
  private listed = 0
  private usable = 0
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly options: JwksKeysOptions) {
    this.verifiers = new KeyVerifiers(options)
  }

  /**
   * Fetches the key set, then again every refreshSeconds. Rejects when the first fetch fails, or
   * finds no key to verify with: a service that signs with a shared secret publishes none (`{"keys":
   * []}`), and a kit started against it would refuse every token it ever sees.
   */
  async start(): Promise<void> {
    await this.refresh()
    if (this.usable === 0) {
      throw new Error(
        `authjwt: ${this.options.jwksUrl} publishes no public key to verify tokens with (${this.listed} listed, ` +
          'none RS256, ES256 or EdDSA), as a service signing with a shared secret (HS256) does: give that ' +
          'service a key pair (JWT_ALGORITHM=EdDSA with JWT_PRIVATE_KEY_FILE) and start the kit again',
      )
    }
    this.timer = setInterval(
      () => this.refresh().catch(() => {}),
      (this.options.refreshSeconds ?? 300) * 1000,
    )
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  /**
   * Before verifying: when the token names a kid we do not hold (a key published since our last
   * fetch), fetch the key set once more and wait for it. Fetches are at least minRefetchMs apart,
   * so tokens with made-up kids cost us one fetch a second at most, never one each.
   */
  async ensureKeyFor(token: string): Promise<void> {
    if (this.verifiers.knowsHeaderOf(token)) return
    await this.ensureKid(headerKid(token))
  }

  /**
   * The key a decoded header names (fetched first if new), for @fastify/jwt's secret function:
   * `request.jwtVerify()` verifies with it. Rejects for a key we do not hold, an `alg` other than
   * the key's, or a header that carries a key of its own, as verify does.
   */
  async keyFor(header: { kid?: unknown }): Promise<string> {
    if (typeof header?.kid === 'string') await this.ensureKid(header.kid)
    return this.verifiers.keyFor(header).key
  }

  private async ensureKid(kid: string | undefined): Promise<void> {
    if (kid === undefined || this.verifiers.has(kid)) return
    if (!this.fetching) {
      const wait = (this.options.minRefetchMs ?? 1000) - (Date.now() - this.lastFetchMs)
      this.fetching = (wait > 0 ? sleep(wait) : Promise.resolve()).then(() => this.fetchOnce())
    }
    await this.fetching.catch(() => {})
  }

  sign(): string {
    throw new Error('a resource server verifies tokens; it never signs them')
  }

  verify(token: string): Record<string, unknown> {
    return this.verifiers.verify(token)
  }

  verifyUncached(token: string): Record<string, unknown> {
    return this.verifiers.verify(token, true)
  }

  /** One fetch at a time; concurrent callers share it. */
  refresh(): Promise<void> {
    this.fetching ??= this.fetchOnce()
    return this.fetching
  }

  private fetchOnce(): Promise<void> {
    return this.fetchKeys().finally(() => {
      this.lastFetchMs = Date.now()
      this.fetching = undefined
    })
  }

  private async fetchKeys(): Promise<void> {
    const res = await (this.options.fetch ?? fetch)(this.options.jwksUrl, {
      signal: AbortSignal.timeout(5000),
    })
    if (!res.ok) throw new Error(`${this.options.jwksUrl} answered ${res.status}`)
    const body = (await res.json()) as { keys?: unknown }
    if (!Array.isArray(body.keys)) throw new Error(`${this.options.jwksUrl} holds no key set`)
    const keys = body.keys.flatMap((jwk: Record<string, unknown>) => {
      if (typeof jwk?.kid !== 'string' || (jwk.use !== undefined && jwk.use !== 'sig')) return []
      try {
        const { alg, pem } = pemOfJwk(jwk)
        return [{ kid: jwk.kid, alg, key: pem }]
      } catch {
        return [] // a key we cannot use (HMAC, an unknown alg, a type that does not fit) verifies nothing
      }
    })
    this.listed = body.keys.length
    this.usable = keys.length
    this.verifiers.set(keys)
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}

/** The kid a token's header names, if it is a readable string; anything else fails in verify. */
function headerKid(token: string): string | undefined {
  try {
    const header = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8'))
    return typeof header?.kid === 'string' ? header.kid : undefined
  } catch {
    return undefined
  }
}
