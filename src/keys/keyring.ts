import { createSigner } from 'fast-jwt'
import { isKeyPairAlgorithm, type JwtAlgorithm } from '../config/tokens.js'
import type { Claims } from '../tokens/claims.js'
import type { TokenCodec } from '../tokens/codec.js'
import type { StoredKey } from './key-store.js'
import { checkedPrivateKey, type PublicJwk, publicParts } from './material.js'
import { type ClaimRules, KeyVerifiers, type VerifyingKey } from './verifiers.js'

export interface KeyringOptions extends ClaimRules {
  /** The configured key: JWT_ALGORITHM with SIGNING_KEY (HMAC) or the private key (key pair). */
  algorithm: JwtAlgorithm
  signingKey: string
  privateKey?: string
  /** The longest a token we sign lives (the refresh lifetime): how long a replaced key still verifies. */
  lifetimeSeconds: number
  /** LEGACY_TOKENS_UNTIL: SimpleJWT's tokens (configured HMAC key) verify at least until then. */
  legacyUntilMs?: number
}

/** One key of the timeline: it signs from `signsFromMs` until the next key's turn. */
interface TimedKey {
  /** The `kid` its tokens carry; undefined for the configured HMAC key (SimpleJWT's header has none). */
  kid: string | undefined
  alg: JwtAlgorithm
  signsFromMs: number
  /** Verifies at least until then even once replaced (legacy SimpleJWT tokens). */
  verifiesUntilAtLeastMs: number
  sign?: (claims: Record<string, unknown>) => string
  verifying: VerifyingKey
  jwk?: PublicJwk
}

/**
 * Which key signs now and which still verify. Keys are in order of `signsFromMs`; each signs until
 * the next one's time has come, then verifies for `lifetimeMs` more (the last token it signed
 * expires then), then is dropped. A key whose time has not come verifies and is published already,
 * so every instance and resource server knows it before a token names it.
 */
export function timeline<K extends { signsFromMs: number; verifiesUntilAtLeastMs?: number }>(
  keys: K[],
  lifetimeMs: number,
  nowMs: number,
): { signer: K | undefined; live: K[]; nextChangeMs: number } {
  let signer: K | undefined
  const live: K[] = []
  let nextChangeMs = Number.POSITIVE_INFINITY
  keys.forEach((key, i) => {
    const next = keys[i + 1]
    if (key.signsFromMs <= nowMs) signer = key
    else nextChangeMs = Math.min(nextChangeMs, key.signsFromMs)
    const until = next
      ? Math.max(next.signsFromMs + lifetimeMs, key.verifiesUntilAtLeastMs ?? 0)
      : Number.POSITIVE_INFINITY
    if (until > nowMs) {
      live.push(key)
      nextChangeMs = Math.min(nextChangeMs, until)
    }
  })
  return { signer, live, nextChangeMs }
}

/**
 * Our keys: the configured one and those `rotate-key` stored. The one owner of which key signs,
 * which verify, and what the JWKS publishes. Reads the stored keys again on `reload` (polled, and
 * soon after a token names a kid we do not hold), so a rotation reaches every instance without a
 * restart.
 */
export class Keyring implements TokenCodec {
  readonly legacyUntilMs?: number
  private readonly verifiers: KeyVerifiers
  private readonly configured: TimedKey[]
  private stored = new Map<string, TimedKey>()
  private keys: TimedKey[] = []
  private signer!: TimedKey
  private published: PublicJwk[] = []
  private nextChangeMs = Number.POSITIVE_INFINITY
  private loading: Promise<void> | undefined
  private lastLoadMs = 0

  constructor(
    private readonly options: KeyringOptions,
    /** The stored keys, opened; none when keys are never rotated (a test's own app). */
    private readonly load: () => Promise<StoredKey[]> = async () => [],
    private readonly onLoadError: (err: unknown) => void = () => {},
  ) {
    this.legacyUntilMs = options.legacyUntilMs
    this.verifiers = new KeyVerifiers(options, () => this.reloadSoon())
    this.configured = configuredKeys(options, (alg, key, kid) =>
      this.timed(alg, key, kid, Number.NEGATIVE_INFINITY),
    )
    this.arrange(Date.now())
  }

  sign(claims: Claims): string {
    if (Date.now() >= this.nextChangeMs) this.arrange(Date.now())
    return (this.signer.sign as NonNullable<TimedKey['sign']>)(claims as unknown as Record<string, unknown>)
  }

  verify(token: string): Record<string, unknown> {
    return this.verifiers.verify(token)
  }

  verifyUncached(token: string): Record<string, unknown> {
    return this.verifiers.verify(token, true)
  }

  /** The public keys that verify now or soon (RFC 7517 `keys`); none for HMAC keys. */
  jwks(): PublicJwk[] {
    if (Date.now() >= this.nextChangeMs) this.arrange(Date.now())
    return this.published
  }

  /** The algorithms of the keys that verify now. */
  algorithms(): string[] {
    return [...new Set(this.keys.map((k) => k.alg))]
  }

  /** The kid tokens signed now carry (undefined: the configured HMAC key, which names none). */
  currentKid(): string | undefined {
    return this.signer.kid
  }

  /** Reads the stored keys again; concurrent calls share one read. Rejects when they cannot be read or opened. */
  reload(): Promise<void> {
    this.loading ??= this.load()
      .then((keys) => this.adopt(keys))
      .finally(() => {
        this.lastLoadMs = Date.now()
        this.loading = undefined
      })
    return this.loading
  }

  /** Reloads every `seconds` until the returned function is called. */
  poll(seconds: number): () => void {
    const timer = setInterval(() => this.reload().catch(this.onLoadError), seconds * 1000)
    timer.unref()
    return () => clearInterval(timer)
  }

  /** A token named a kid we do not hold: perhaps another instance rotated. At most once a second. */
  private reloadSoon(): void {
    if (!this.loading && Date.now() - this.lastLoadMs >= 1000) this.reload().catch(this.onLoadError)
  }

  private adopt(keys: StoredKey[]): void {
    const next = new Map<string, TimedKey>()
    for (const key of keys) {
      const held = this.stored.get(key.kid)
      next.set(key.kid, held ?? this.timed(key.alg, key.secret, key.kid, key.signsFromMs))
    }
    this.stored = next
    this.arrange(Date.now())
  }

  private arrange(nowMs: number): void {
    const all = [...this.configured.filter((k) => k.sign), ...this.stored.values()]
    const { signer, live, nextChangeMs } = timeline(all, this.options.lifetimeSeconds * 1000, nowMs)
    // The configured HMAC key that only verifies (key-pair mode, SimpleJWT's tokens) is always live.
    const verifyOnly = this.configured.filter((k) => !k.sign)
    this.signer = signer ?? (all[0] as TimedKey)
    this.keys = [...live, ...verifyOnly]
    this.nextChangeMs = nextChangeMs
    this.published = this.keys.flatMap((k) => (k.jwk ? [k.jwk] : []))
    this.verifiers.set(this.keys.map((k) => k.verifying))
  }

  private timed(alg: JwtAlgorithm, secret: string, kid: string | undefined, signsFromMs: number): TimedKey {
    const { issuer, audience } = this.options
    const claims = { ...(issuer && { iss: issuer }), ...(audience && { aud: audience }) }
    const legacy = kid === undefined ? (this.options.legacyUntilMs ?? 0) : 0
    if (!isKeyPairAlgorithm(alg)) {
      const sign = createSigner({ key: secret, algorithm: alg, ...(kid && { kid }), ...claims })
      return {
        kid,
        alg,
        signsFromMs,
        verifiesUntilAtLeastMs: legacy,
        sign,
        verifying: { kid, alg, key: secret },
      }
    }
    const privateKey = checkedPrivateKey(alg, secret)
    const { pem, jwk } = publicParts(alg, privateKey, kid)
    const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
    const sign = createSigner({ key: pkcs8, algorithm: alg, kid: jwk.kid, ...claims })
    return {
      kid: jwk.kid,
      alg,
      signsFromMs,
      verifiesUntilAtLeastMs: 0,
      sign,
      verifying: { kid: jwk.kid, alg, key: pem },
      jwk,
    }
  }
}

/**
 * The configured keys: the one that signs until a rotation, and in key-pair mode the SIGNING_KEY
 * (when set) that only verifies SimpleJWT's HS256 tokens, which name no key.
 */
function configuredKeys(
  options: KeyringOptions,
  timed: (alg: JwtAlgorithm, secret: string, kid: string | undefined) => TimedKey,
): TimedKey[] {
  if (!isKeyPairAlgorithm(options.algorithm)) return [timed(options.algorithm, options.signingKey, undefined)]
  if (!options.privateKey)
    throw new Error(`${options.algorithm} needs a private key (JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE)`)
  const signer = timed(options.algorithm, options.privateKey, undefined)
  if (!options.signingKey) return [signer]
  const legacy = timed('HS256', options.signingKey, undefined)
  return [signer, { ...legacy, sign: undefined }]
}
