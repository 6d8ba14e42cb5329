import { type Actor, manageable } from '../accounts/scope.js'
import type { CurrentUser } from '../accounts/current-user.js'
import { isExpired } from '../accounts/expiry.js'
import { type Claims, isUserId, type Principal, type UntypedClaims } from '../tokens/claims.js'
import { decodeToken, legacyRefused } from '../tokens/codec.js'
import { revocationOf } from './authenticate.js'
import type { AuthDeps } from './deps.js'
import { refreshHold } from '../sessions/refresh-hold.js'

/** RFC 7662's answer: `active` alone when the token is not, the token's claims when it is. */
export type Introspected = { active: false } | ({ active: true; sub: string; username: string } & Claims)

const INACTIVE = { active: false } as const

/** An operator's access token, or a service with configured credentials. */
export type Caller = Principal | { client: string }

const SERVICE: Actor = { id: 0, isStaff: true, isSuperuser: true, clientId: null }

/**
 * RFC 7662 introspection and RFC 7009 revocation, for the services behind us. The caller is an
 * operator (staff or superuser, by their access token) or a service with configured credentials;
 * a tenant's operator sees the tokens of their tenant only, and any other token is, to them, a token that is not active. Both answer
 * the same for a forged, expired, revoked or unknown token: nothing about it leaks.
 */
export class Introspection {
  constructor(private readonly d: AuthDeps & { currentUser: CurrentUser }) {}

  async introspect(caller: Caller, token: string): Promise<Introspected> {
    const actor = await this.operator(caller)
    const claims = await this.liveClaims(actor, token)
    if (!claims) return INACTIVE
    const { token_type, user_id, exp, iat, jti, sid, client_id, username } = claims
    return {
      active: true,
      token_type,
      sub: String(user_id),
      username,
      exp,
      iat,
      jti,
      user_id,
      sid,
      client_id,
    }
  }

  /** Revokes what the token stands for: a refresh token its session, an access token itself. */
  async revoke(caller: Caller, token: string): Promise<Record<string, never>> {
    const actor = await this.operator(caller)
    const claims = await this.liveClaims(actor, token)
    if (!claims) return {}
    const { revocations } = this.d
    if (claims.token_type === 'refresh' && claims.sid !== undefined) {
      await revocations.revokeSession({ id: claims.sid, userId: claims.user_id }, 'revoked')
    } else {
      await revocations.denyToken(claims.jti, claims.exp)
    }
    return {}
  }

  private async operator(caller: Caller): Promise<Actor> {
    // A configured service (INTROSPECTION_CLIENTS) sees every tenant, as a superuser does.
    if ('client' in caller) return SERVICE
    return this.d.currentUser.operator(caller)
  }

  /** The token's claims and user name, if it is ours, live, and its user is in the actor's scope. */
  private async liveClaims(actor: Actor, token: string) {
    const { codec, store, repos } = this.d
    const checked = decodeToken(codec, token, true)
    if (!checked.ok || legacyRefused(codec, checked.claims)) return undefined
    const claims: UntypedClaims = checked.claims
    const type = claims.token_type
    if ((type !== 'access' && type !== 'refresh') || !isUserId(claims.user_id)) return undefined
    if (await revocationOf(store, claims)) return undefined
    // A refresh token is decided by its session row: rotated away or revoked, it is spent.
    if (type === 'refresh' && claims.sid !== undefined && (await refreshHold(repos, claims)) !== 'held') {
      return undefined
    }
    const user = await repos.users.findById(claims.user_id)
    // Staff see (and revoke) the tokens of the accounts they may act on: the one rule (scope.ts).
    if (!user?.isActive || isExpired(user) || manageable(actor, user) !== 'yes') return undefined
    const tokenType: 'access' | 'refresh' = type
    return { ...claims, token_type: tokenType, user_id: claims.user_id, username: user.username }
  }
}
