import type { ClientType, Config } from '../config.js'
import { ApiError, errors, messages } from '../http/errors.js'
import type { PasswordHasher } from '../accounts/passwords.js'
import type { Repositories } from '../accounts/repositories.js'
import type { UserRecord } from '../accounts/users.js'
import { type RevocationVerdict, revocationVerdict } from '../revocation/verdict.js'
import { isExpired } from '../http/serializers.js'
import { type RevocationStore, StoreUnavailableError } from '../revocation/store.js'
import { checkClaims, isUserId, type VerifiedClaims } from '../tokens/check.js'
import { buildClaims, jtiIssuedAtMs, newJti, type TokenClaims } from '../tokens/claims.js'
import { accountKey, type Throttle } from './throttle.js'
import type { RevocationService } from '../revocation/service.js'
import type { SessionActivity } from '../accounts/session-activity.js'

/** Signs and verifies with the configured algorithm only; never with what a token's header asks. */
export interface TokenCodec {
  sign(claims: TokenClaims): string
  /** The payload of a token whose signature, exp and nbf hold; throws otherwise. */
  verify(token: string): Record<string, unknown>
  /** As verify, without the cache: for tokens presented once (refresh tokens). */
  verifyUncached(token: string): Record<string, unknown>
}

/** Who is calling: the claims of a verified, unrevoked access token. */
export interface Principal {
  userId: number
  sid: number | undefined
  jti: string
  exp: number
  clientId: number | undefined
}

export interface LoginInput {
  username: string
  password: string
  client_type?: ClientType
  device_name?: string | null
  telegram_user_id?: number | null
  telegram_username?: string | null
}

export interface RequestMeta {
  ip: string | undefined
  userAgent: string | undefined
}

export interface AuthDeps {
  config: Config
  repos: Repositories
  store: RevocationStore
  revocations: RevocationService
  hasher: PasswordHasher
  codec: TokenCodec
  activity: SessionActivity
  throttle: Throttle
}

/**
 * SimpleJWT's reading of the Authorization header: undefined when it carries no Bearer (missing,
 * empty, another scheme, lowercase "bearer"), null when it is "Bearer" without exactly one token.
 */
function bearerToken(header: string | undefined): string | null | undefined {
  if (!header) return undefined
  const parts = header.trim().split(/\s+/)
  if (parts[0] !== 'Bearer') return undefined
  return parts.length === 2 ? parts[1]! : null
}

/** SimpleJWT's two sentences: a token without the claim has no type; any other value is the wrong one. */
const typeMessage = (claims: { token_type?: unknown }) =>
  claims.token_type === undefined ? messages.noType : messages.wrongType

const verdictErrors: Record<RevocationVerdict, () => ApiError> = {
  token_revoked: errors.tokenRevoked,
  user_inactive: errors.userInactive,
  user_not_found: errors.userNotFound,
  account_expired: errors.accountExpired,
}

export class AuthService {
  // Usernames never change once created, so this cache is never stale; it is bounded only for memory.
  private readonly usernames = new Map<number, string>()

  constructor(private readonly d: AuthDeps) {}

  /** The username of a user id, from memory after the first time. */
  async username(userId: number): Promise<string> {
    const cached = this.usernames.get(userId)
    if (cached !== undefined) return cached
    const user = await this.d.repos.users.findById(userId)
    if (!user) throw errors.userNotFound()
    if (this.usernames.size >= 100_000) this.usernames.clear()
    this.usernames.set(userId, user.username)
    return user.username
  }

  private decode(token: string, once = false): ReturnType<typeof checkClaims> {
    let payload: Record<string, unknown>
    try {
      payload = once ? this.d.codec.verifyUncached(token) : this.d.codec.verify(token)
    } catch {
      return { ok: false, message: messages.invalid }
    }
    return checkClaims(payload, Math.floor(Date.now() / 1000))
  }

  private async verdict(claims: VerifiedClaims): Promise<RevocationVerdict | undefined> {
    const userId = isUserId(claims.user_id) ? claims.user_id : 0
    const found = await this.d.store.lookup(claims.jti, claims.sid, userId)
    return revocationVerdict(claims, found, Date.now())
  }

  /** The authenticate hook: header parsing as SimpleJWT, then one round trip to the store. */
  async authenticate(header: string | undefined): Promise<Principal> {
    const token = bearerToken(header)
    if (token === undefined) throw errors.notAuthenticated()
    if (token === null) throw errors.badAuthorizationHeader()
    const checked = this.decode(token)
    if (!checked.ok) throw errors.accessTokenNotValid(checked.message)
    const claims = checked.claims
    if (claims.token_type !== 'access') throw errors.accessTokenNotValid(typeMessage(claims))
    if (!isUserId(claims.user_id)) throw errors.tokenNotValid(messages.noUser)
    const verdict = await this.verdict(claims)
    if (verdict) throw verdictErrors[verdict]()
    if (claims.sid !== undefined) this.d.activity.seen(claims.sid)
    return {
      userId: claims.user_id,
      sid: claims.sid,
      jti: claims.jti,
      exp: claims.exp,
      clientId: claims.client_id,
    }
  }

  async login(input: LoginInput, meta: RequestMeta) {
    const { repos, hasher, config } = this.d
    const user = await repos.users.findByLogin(input.username)
    await this.d.throttle.attempt(accountKey(user?.id, input.username), meta.ip)
    // Unknown user, wrong password and inactive user cost the same hash and get the same answer.
    const passwordOk = user
      ? await hasher.verify(user.passwordHash, input.password)
      : await hasher.verifyDummy(input.password)
    if (!user || !passwordOk || !user.isActive) throw errors.badCredentials()
    if (isExpired(user)) throw errors.accountExpired()

    const clientType = input.client_type ?? 'unknown'
    await this.applySessionPolicy(user, clientType)

    const nowMs = Date.now()
    const now = new Date(nowMs)
    const refreshJti = newJti(nowMs)
    const accessJti = newJti(nowMs)
    repos.users.forget(user.id)
    const session = await repos.sessions.createForLogin({
      userId: user.id,
      refreshJti,
      accessJti,
      clientType,
      deviceName: input.device_name ?? null,
      ipAddress: meta.ip ?? null,
      userAgent: meta.userAgent ?? null,
      telegramUserId: input.telegram_user_id ?? null,
      telegramUsername: input.telegram_username ?? null,
      createdAt: now,
      expiresAt: new Date(nowMs + config.refreshTokenLifetime * 1000),
    })
    const base = { user_id: user.id, sid: session.id, client_id: user.clientId }
    const refresh = { ...buildClaims('refresh', config.refreshTokenLifetime, base, nowMs), jti: refreshJti }
    const access = { ...buildClaims('access', config.accessTokenLifetime, base, nowMs), jti: accessJti }
    // The session insert above also set last_login; a hash made with older parameters is replaced.
    if (hasher.needsRehash(user.passwordHash)) {
      await repos.users.setPasswordHash(user.id, await hasher.hash(input.password))
    }
    return {
      refresh: this.d.codec.sign(refresh),
      access: this.d.codec.sign(access),
      user: {
        id: user.id,
        username: user.username,
        email: user.email,
        first_name: user.firstName,
        last_name: user.lastName,
      },
      session_id: session.id,
      user_id: user.id,
      username: user.username,
      email: user.email,
      client_id: user.clientId,
      client_name: user.clientName,
    }
  }

  private async applySessionPolicy(user: UserRecord, clientType: string): Promise<void> {
    const { config, repos, revocations } = this.d
    if (config.sessionPolicy === 'reject') {
      if (await repos.sessions.hasLiveSession(user.id, clientType, new Date())) {
        throw new ApiError(
          401,
          `You are already logged in on ${clientType.replace(/_/g, ' ')}. Please logout first.`,
          'already_logged_in',
        )
      }
    } else if (config.sessionPolicy === 'replace') {
      await revocations.revokeClientType(user.id, clientType, 'replaced')
    }
  }

  /** Checks a refresh token for the refresh, blacklist and logout endpoints. */
  private async refreshClaims(token: string, status = 401): Promise<VerifiedClaims & { user_id: number }> {
    const checked = this.decode(token, true)
    if (!checked.ok) throw new ApiError(status, checked.message, 'token_not_valid')
    const claims = checked.claims
    if (claims.token_type !== 'refresh') throw new ApiError(status, typeMessage(claims), 'token_not_valid')
    if (!isUserId(claims.user_id)) throw new ApiError(status, messages.noUser, 'token_not_valid')
    return claims as VerifiedClaims & { user_id: number }
  }

  /**
   * Renews on the authority of the session row, not the revocation store. Every revocation is
   * written to the database first, and the conditional UPDATE that rotates the session matches
   * only while the session is active, still holds this token, and its user is active and not
   * expired. So one database round trip both decides and records the refresh; the store is not
   * read (refresh keeps working while Redis is down), and a spent token needs no deny entry:
   * verify and blacklist ask the session row about refresh tokens (refreshHold).
   */
  async refresh(token: string, requestStartedMs: number): Promise<{ access: string; refresh?: string }> {
    const { config, repos } = this.d
    const claims = await this.refreshClaims(token)
    // Our refresh tokens always name their session; one without is not ours to renew.
    if (claims.sid === undefined) throw errors.tokenNotValid(messages.invalid)

    const nowMs = Date.now()
    const base = { user_id: claims.user_id, sid: claims.sid, client_id: claims.client_id }
    // As SimpleJWT: the new access token copies the presented refresh token's iat.
    const access = buildClaims('access', config.accessTokenLifetime, { ...base, iat: claims.iat }, nowMs)
    if (!config.rotateRefreshTokens) {
      const row = await repos.sessions.recordAccess(
        claims.sid,
        claims.user_id,
        claims.jti,
        access.jti,
        new Date(nowMs),
      )
      if (!row) return this.refreshRefused(claims, requestStartedMs)
      return { access: this.d.codec.sign(access) }
    }
    const refresh = buildClaims('refresh', config.refreshTokenLifetime, base, nowMs)
    const rotated = await repos.sessions.rotate({
      sid: claims.sid,
      userId: claims.user_id,
      presentedJti: claims.jti,
      refreshJti: refresh.jti,
      accessJti: access.jti,
      at: new Date(nowMs),
      expiresAt: new Date(nowMs + config.refreshTokenLifetime * 1000),
    })
    if (!rotated) return this.refreshRefused(claims, requestStartedMs)
    return { access: this.d.codec.sign(access), refresh: this.d.codec.sign(refresh) }
  }

  /**
   * Whether the session a refresh token names still holds it: 'spent' once rotated away or
   * revoked, 'unknown' when the token names no session of its user (nothing to ask).
   */
  private async refreshHold(claims: VerifiedClaims): Promise<'held' | 'spent' | 'unknown'> {
    const session = await this.sessionOf(claims)
    if (!session) return 'unknown'
    return session.isActive && session.refreshJti === claims.jti ? 'held' : 'spent'
  }

  /** The session a token names, if it exists and belongs to the token's user. */
  private async sessionOf(claims: VerifiedClaims) {
    if (claims.sid === undefined || !isUserId(claims.user_id)) return undefined
    const session = await this.d.repos.sessions.findById(claims.sid)
    return session?.userId === claims.user_id ? session : undefined
  }

  /**
   * The session did not hold the presented token. A refresh with the token the session held
   * just before its last rotation, arriving within the grace, is a concurrent client (two tabs,
   * a retry): it gets the very pair the rotation issued, so both converge on one token. With no
   * grace, one that began before the rotation lost a race: refused, the session lives. Anything
   * else is reuse of a spent token, the mark of a stolen one: the whole session is revoked.
   */
  private async refreshRefused(
    claims: VerifiedClaims & { user_id: number },
    startedMs: number,
  ): Promise<{ access: string; refresh: string }> {
    const { repos, revocations, config } = this.d
    const user = await repos.users.findById(claims.user_id)
    if (!user) throw errors.userNotFound()
    if (!user.isActive) throw errors.userInactive()
    if (isExpired(user)) throw errors.accountExpired()
    const session = await this.sessionOf(claims)
    if (!session) throw errors.tokenNotValid(messages.invalid)
    if (!session.isActive) {
      // Repairs a store that lost the entry; the answer does not depend on it, so a store that is
      // down does not turn this refusal into a 503.
      await revocations.denySessions([session.id]).catch((err: unknown) => {
        if (!(err instanceof StoreUnavailableError)) throw err
      })
      throw errors.tokenNotValid(messages.blacklisted)
    }
    const rotatedAt = session.rotatedAt?.getTime()
    const graceMs = config.refreshReuseGraceSeconds * 1000
    if (config.rotateRefreshTokens && session.previousRefreshJti === claims.jti && rotatedAt !== undefined) {
      if (graceMs > 0 && startedMs <= rotatedAt + graceMs) return this.successorPair(session, claims)
      if (startedMs <= rotatedAt) throw errors.tokenNotValid(messages.blacklisted)
    }
    await revocations.revokeSession(session.id, 'refresh_reuse')
    throw errors.tokenNotValid(messages.blacklisted)
  }

  /**
   * The pair the session's last rotation issued, signed again from what the row holds: both jtis
   * carry the rotation's time, and every other claim comes from the presented token as it did
   * then, so the claims, and with a deterministic signature (HMAC) the tokens, are the same.
   */
  private successorPair(
    session: { refreshJti: string; accessJti: string | null },
    claims: VerifiedClaims & { user_id: number },
  ): { access: string; refresh: string } {
    const { config, codec } = this.d
    const issuedMs = jtiIssuedAtMs(session.refreshJti)
    if (issuedMs === undefined || !session.accessJti) throw errors.tokenNotValid(messages.blacklisted)
    const base = { user_id: claims.user_id, sid: claims.sid, client_id: claims.client_id }
    const access = buildClaims(
      'access',
      config.accessTokenLifetime,
      { ...base, iat: claims.iat, jti: session.accessJti },
      issuedMs,
    )
    const refresh = buildClaims(
      'refresh',
      config.refreshTokenLifetime,
      { ...base, jti: session.refreshJti },
      issuedMs,
    )
    return { access: codec.sign(access), refresh: codec.sign(refresh) }
  }

  async verify(token: string): Promise<Record<string, never>> {
    const checked = this.decode(token)
    if (!checked.ok) throw errors.tokenNotValid(checked.message)
    const verdict = await this.verdict(checked.claims)
    if (verdict) throw verdictErrors[verdict]()
    if (checked.claims.token_type === 'refresh' && (await this.refreshHold(checked.claims)) === 'spent') {
      throw errors.tokenRevoked()
    }
    return {}
  }

  async blacklist(token: string): Promise<Record<string, never>> {
    const claims = await this.refreshClaims(token)
    const verdict = await this.verdict(claims)
    if (verdict === 'token_revoked' || (await this.refreshHold(claims)) === 'spent') {
      throw errors.tokenNotValid(messages.blacklisted)
    }
    await this.revokeRefresh(claims, 'blacklist')
    return {}
  }

  /**
   * Revokes the token's session; the session's deny entry stops every token naming it, so the
   * token's own jti is denied only when it names no session.
   */
  private async revokeRefresh(claims: VerifiedClaims, reason: string): Promise<void> {
    if (claims.sid === undefined) return this.d.revocations.denyToken(claims.jti, claims.exp)
    await this.d.revocations.revokeSession(claims.sid, reason)
  }

  /** Revokes the refresh token's session and, when a valid Bearer comes along, that access token. */
  async logout(refreshToken: string, authorization: string | undefined) {
    const claims = await this.refreshClaims(refreshToken, 400)
    const bearer = bearerToken(authorization)
    // Uncached: a token being logged out is not presented again.
    const access = bearer ? this.decode(bearer, true) : undefined
    // An access token of the same session is stopped by the session's deny entry already.
    const otherAccess = access?.ok && (claims.sid === undefined || access.claims.sid !== claims.sid)
    // Independent writes go out together (one pipelined Redis write), not one round trip each.
    await Promise.all([
      this.revokeRefresh(claims, 'logout'),
      otherAccess ? this.d.revocations.denyToken(access.claims.jti, access.claims.exp) : undefined,
    ])
    return { message: 'Logout successful', detail: 'Session revoked and tokens blacklisted' }
  }

  async logoutAll(principal: Principal) {
    const user = await this.d.repos.users.findById(principal.userId)
    if (!user) throw errors.userNotFound()
    const ids = await this.d.revocations.revokeUser(user, 'logout_all')
    return { message: `Logged out from ${ids.length} device(s)`, revoked_sessions: ids.length }
  }

  /** The caller's user row, with the checks SimpleJWT's authentication makes on it. */
  async currentUser(principal: Principal, forDisplay = false): Promise<UserRecord> {
    const { users } = this.d.repos
    // Showing the caller to themselves may use a row read a moment ago; deciding what they may do may not.
    const user = await (forDisplay ? users.findRecent(principal.userId) : users.findById(principal.userId))
    if (!user) throw errors.userNotFound()
    if (!user.isActive) throw errors.userInactive()
    if (isExpired(user)) throw errors.accountExpired()
    return user
  }
}
