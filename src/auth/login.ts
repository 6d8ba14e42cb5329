import type { OpenedSession, NewSession } from '../sessions/repository.js'
import type { UserRecord } from '../accounts/users.js'
import type { ClientType } from '../../schema/db.js'
import { ApiError, errors } from '../http/errors.js'
import { isExpired } from '../accounts/expiry.js'
import { storableText } from '../lib/storable.js'
import { buildClaims } from '../tokens/claims.js'
import { newJti } from '../tokens/jti.js'
import type { RequestMeta } from '../audit/events.js'
import type { AuthDeps } from './deps.js'
import { accountKey } from './throttle.js'

export interface LoginInput {
  username: string
  password: string
  client_type?: ClientType
  device_name?: string | null
  telegram_user_id?: number | null
  telegram_username?: string | null
}

export type { RequestMeta }

/**
 * SimpleJWT's token obtain pair, and a device session: the identifier is a username or an
 * e-mail; the attempt is counted against the account's budget before the password is checked.
 */
export async function login(d: AuthDeps, input: LoginInput, meta: RequestMeta) {
  const { repos, hasher, config, audit } = d
  const user = await repos.users.findByLogin(input.username)
  const account = accountKey(user?.id, input.username)
  await d.throttle.attempt(account, meta.ip)
  const failed = (reason: string) => {
    // An unknown identifier is kept (who is being guessed at), a known user by id only.
    const tried = user ? {} : { identifier: storableText(input.username, 150) }
    audit.record({ type: 'login.failed', userId: user?.id, details: { reason, ...tried } }, meta)
  }
  // Unknown user, wrong password and inactive user cost the same hash and get the same answer.
  // One check at a time per account, known or not, so hammering a few accounts leaves slots to others.
  const started = performance.now()
  const passwordOk = user
    ? await hasher.verify(user.passwordHash, input.password, account)
    : await hasher.verifyDummy(input.password, account)
  if (!user || !passwordOk || !user.isActive) {
    failed(!user ? 'unknown_user' : !passwordOk ? 'wrong_password' : 'inactive')
    await hasher.failSlowly(started)
    throw errors.badCredentials()
  }
  if (isExpired(user)) {
    failed('account_expired')
    throw errors.accountExpired()
  }
  // Told only to whoever knows the password: the answer says nothing to a guesser.
  if (config.requireVerifiedEmail && !user.emailVerified) {
    failed('email_not_verified')
    throw errors.emailNotVerified()
  }
  // A hash made with older parameters is replaced, unless the password changed meanwhile (the
  // change must stand); the session is then opened under the new hash.
  let verified = user
  if (hasher.needsRehash(user.passwordHash)) {
    const passwordHash = await hasher.hash(input.password)
    if (!(await repos.users.rehashPassword(user.id, user.passwordHash, passwordHash))) {
      failed('password_changed')
      throw errors.badCredentials()
    }
    verified = { ...user, passwordHash }
  }
  if (user.mfaEnabled && d.twoFactor) {
    const { password: _, ...fields } = input
    const challenge = await d.twoFactor.challenge(verified, {
      input: fields,
      meta: { ip: meta.ip, userAgent: meta.userAgent },
    })
    audit.record({ type: 'mfa.challenged', userId: user.id }, meta)
    throw challenge
  }
  return startSession(d, verified, input, meta, 'password')
}

/**
 * A login that passed every check (password, and the second factor when on): the session and the
 * pair. `user.passwordHash` is the hash the password was checked against: the session is opened
 * only while the user still has it, so a login racing a password change or reset keeps nothing.
 */
export async function startSession(
  d: AuthDeps,
  user: UserRecord,
  input: Omit<LoginInput, 'password'>,
  meta: RequestMeta,
  method: 'password' | 'mfa',
) {
  const { repos, config } = d
  const clientType = input.client_type ?? 'unknown'

  const nowMs = Date.now()
  const now = new Date(nowMs)
  const refreshJti = newJti(nowMs)
  const accessJti = newJti(nowMs)
  // The session insert sets the user's last_login too: the cached row is stale.
  repos.users.forget(user.id)
  const row: NewSession = {
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
  }
  const session = await openSession(d, row, user.passwordHash, meta)
  d.audit.record(
    {
      type: 'login.succeeded',
      userId: user.id,
      sessionId: session.id,
      details: { method, client_type: clientType },
    },
    meta,
  )
  const base = { user_id: user.id, sid: session.id, client_id: user.clientId }
  const refresh = buildClaims('refresh', config.refreshTokenLifetime, { ...base, jti: refreshJti }, nowMs)
  const access = buildClaims('access', config.accessTokenLifetime, { ...base, jti: accessJti }, nowMs)
  return {
    refresh: d.codec.sign(refresh),
    access: d.codec.sign(access),
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

/**
 * The login's session under SESSION_POLICY. `allow`: the session and the user's last_login,
 * written at once (one round trip of latency). `reject` and `replace`: one live session per
 * client type, decided by the database (one transaction under the user's row lock), so
 * concurrent logins cannot both pass. Either way only while the user's password hash is still
 * `verifiedHash`.
 */
async function openSession(
  d: AuthDeps,
  row: NewSession,
  verifiedHash: string,
  meta: RequestMeta,
): Promise<{ id: number }> {
  const policy = d.config.sessionPolicy
  const opened: OpenedSession =
    policy === 'allow'
      ? await d.repos.sessions
          .createAtLogin(row, verifiedHash)
          .then((created) => (created ? { ...created, replaced: [] } : 'password_changed'))
      : await d.repos.sessions.openExclusive(row, policy, verifiedHash)
  const { userId, clientType } = row
  if (opened === 'password_changed') {
    // The password changed (or was reset) while this login checked it: the new one decides.
    const details = { reason: 'password_changed' }
    d.audit.record({ type: 'login.failed', userId, details }, meta)
    throw errors.badCredentials()
  }
  if (opened === 'already_logged_in') {
    const details = { reason: 'already_logged_in', client_type: clientType }
    d.audit.record({ type: 'login.failed', userId, details }, meta)
    throw new ApiError(
      401,
      `You are already logged in on ${clientType.replace(/_/g, ' ')}. Please logout first.`,
      'already_logged_in',
    )
  }
  if (opened.replaced.length > 0) {
    await d.revocations.denySessions(opened.replaced.map((id) => ({ id, userId })))
  }
  for (const id of opened.replaced) {
    const details = { reason: 'replaced' }
    d.audit.record({ type: 'session.revoked', userId, sessionId: id, details }, meta)
  }
  return opened
}
