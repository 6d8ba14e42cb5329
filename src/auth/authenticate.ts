import type { SessionActivity } from '../sessions/activity.js'
import { type ApiError, errors, messages } from '../http/errors.js'
import type { RevocationStore } from '../revocation/store.js'
import { type RevocationVerdict, revocationVerdict } from '../revocation/verdict.js'
import { type Principal, revocationUserId, typedClaims, type UntypedClaims } from '../tokens/claims.js'
import { decodeToken, legacyRefused, type TokenCodec } from '../tokens/codec.js'

/**
 * The hot path: every protected request, from its Authorization header to the caller. SimpleJWT's
 * reading of the header and its answers, then one round trip to the revocation store.
 */
export class Authenticator {
  /** `activity`: where sessions' last use is recorded; none in the resource-server kit. */
  constructor(
    private readonly d: { codec: TokenCodec; store: RevocationStore; activity?: SessionActivity },
  ) {}

  async authenticate(header: string | undefined): Promise<Principal> {
    const token = bearerToken(header)
    if (token === undefined) throw errors.notAuthenticated()
    if (token === null) throw errors.badAuthorizationHeader()
    const checked = decodeToken(this.d.codec, token)
    if (!checked.ok) throw errors.accessTokenNotValid(checked.message)
    const typed = typedClaims(checked.claims, 'access')
    if (!typed.ok) {
      throw typed.message === messages.noUser
        ? errors.tokenNotValid(typed.message)
        : errors.accessTokenNotValid(typed.message)
    }
    if (legacyRefused(this.d.codec, typed.claims)) throw errors.accessTokenNotValid(messages.invalid)
    await refuseRevoked(this.d.store, typed.claims)
    if (typed.claims.sid !== undefined) this.d.activity?.seen(typed.claims.sid)
    return typed.claims
  }
}

/**
 * SimpleJWT's reading of the Authorization header: undefined when it carries no Bearer (missing,
 * empty, another scheme, lowercase "bearer"), null when it is "Bearer" without exactly one token.
 */
export function bearerToken(header: string | undefined): string | null | undefined {
  if (!header) return undefined
  const parts = header.trim().split(/\s+/)
  if (parts[0] !== 'Bearer') return undefined
  return parts.length === 2 ? parts[1]! : null
}

const verdictErrors: Record<RevocationVerdict, () => ApiError> = {
  token_revoked: errors.tokenRevoked,
  user_inactive: errors.userInactive,
  user_not_found: errors.userNotFound,
  account_expired: errors.accountExpired,
}

/** What revoked the token, if anything: one store lookup. */
export async function revocationOf(
  store: RevocationStore,
  claims: UntypedClaims,
): Promise<RevocationVerdict | undefined> {
  const found = await store.lookup(claims.jti, claims.sid, revocationUserId(claims))
  return revocationVerdict(claims, found, Date.now())
}

/** Throws the contract's answer when something revoked the token. */
export async function refuseRevoked(store: RevocationStore, claims: UntypedClaims): Promise<void> {
  const verdict = await revocationOf(store, claims)
  if (verdict) throw verdictErrors[verdict]()
}
