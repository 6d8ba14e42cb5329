import type { Reader } from './read.js'

export const SESSION_POLICIES = ['allow', 'reject', 'replace'] as const
export type SessionPolicy = (typeof SESSION_POLICIES)[number]

/** How a login's session renews, and what a second login on the same device does. */
export interface SessionsConfig {
  rotateRefreshTokens: boolean
  /** How long the refresh token just replaced still renews (two tabs refreshing at once). */
  refreshReuseGraceSeconds: number
  sessionPolicy: SessionPolicy
}

export function readSessions(read: Reader): SessionsConfig {
  return {
    rotateRefreshTokens: read.bool('ROTATE_REFRESH_TOKENS', true),
    refreshReuseGraceSeconds: read.int('REFRESH_REUSE_GRACE_SECONDS', 2, 0, 3600),
    sessionPolicy: read.choice('SESSION_POLICY', 'allow', SESSION_POLICIES),
  }
}
