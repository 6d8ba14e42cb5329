import type { SessionRow } from '../../schema/db.js'
import type { Repositories } from '../repositories.js'
import { isUserId, type UntypedClaims } from '../tokens/claims.js'

/** The session a token names, if it exists and belongs to the token's user. */
export async function sessionOf(
  repos: Pick<Repositories, 'sessions'>,
  claims: UntypedClaims,
): Promise<SessionRow | undefined> {
  if (claims.sid === undefined || !isUserId(claims.user_id)) return undefined
  const session = await repos.sessions.findById(claims.sid)
  return session?.userId === claims.user_id ? session : undefined
}

/**
 * Whether the session a refresh token names still holds it: 'spent' once rotated away or
 * revoked, 'unknown' when the token names no session of its user (nothing to ask). Refresh
 * tokens are decided by the session row, not by deny entries.
 */
export async function refreshHold(
  repos: Pick<Repositories, 'sessions'>,
  claims: UntypedClaims,
): Promise<'held' | 'spent' | 'unknown'> {
  const session = await sessionOf(repos, claims)
  if (!session) return 'unknown'
  return session.isActive && session.refreshJti === claims.jti ? 'held' : 'spent'
}
