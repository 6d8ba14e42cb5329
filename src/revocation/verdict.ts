import { issuedAtMs } from '../tokens/jti.js'

/**
 * What the revocation store holds about a user: a "valid after" mark (tokens issued at or before
 * it are dead), why (so a deactivated user hears user_inactive rather than token_revoked), and
 * when the account expires.
 */
export interface UserRevocationState {
  validAfterMs: number
  status: '' | 'inactive' | 'deleted'
  expiresAtMs: number
}

export function encodeUserState(s: UserRevocationState): string {
  return `${s.validAfterMs}|${s.status}|${s.expiresAtMs}`
}

export function decodeUserState(raw: string | null | undefined): UserRevocationState | undefined {
  if (!raw) return undefined
  const [after, status, expires] = raw.split('|')
  return {
    validAfterMs: Number(after) || 0,
    status: status === 'inactive' || status === 'deleted' ? status : '',
    expiresAtMs: Number(expires) || 0,
  }
}

/** The raw answers of the one round trip every authenticated request makes. */
export interface RevocationLookup {
  jtiDenied: boolean
  sessionDenied: boolean
  user: string | null
  globalValidAfter: string | null
}

export type RevocationVerdict = 'token_revoked' | 'user_inactive' | 'user_not_found' | 'account_expired'

/** Decides whether a token that verified cryptographically is still alive. Pure, so it is tested alone. */
export function revocationVerdict(
  claims: { jti: string; iat?: number },
  found: RevocationLookup,
  nowMs: number,
): RevocationVerdict | undefined {
  const issued = issuedAtMs(claims)
  const user = decodeUserState(found.user)
  if (user) {
    if (issued <= user.validAfterMs && user.status === 'inactive') return 'user_inactive'
    if (issued <= user.validAfterMs && user.status === 'deleted') return 'user_not_found'
    if (user.expiresAtMs > 0 && nowMs >= user.expiresAtMs) return 'account_expired'
  }
  if (found.jtiDenied || found.sessionDenied) return 'token_revoked'
  if (user && issued <= user.validAfterMs) return 'token_revoked'
  if (found.globalValidAfter !== null && issued <= Number(found.globalValidAfter)) return 'token_revoked'
  return undefined
}
