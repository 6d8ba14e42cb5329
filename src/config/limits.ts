import {
  allowList,
  parseRate,
  type Rate,
  THROTTLE_SCOPES,
  type ThrottleScope,
  type ThrottleSettings,
} from '../http/throttle-rates.js'
import type { Reader } from './read.js'

/** The throttles: attempts per window before a login or a mail request is refused with 429. */
export interface LimitsConfig {
  loginRateLimit: number
  loginAccountRateLimit: number
  loginRateWindowSeconds: number
  mailRateLimit: number
  mailIpRateLimit: number
  /** Request throttles, DRF's anon, user and scoped rates (plugins/app/throttles.ts); all off by default. */
  throttles: ThrottleSettings
}

export function readLimits(read: Reader): LimitsConfig {
  return {
    loginRateLimit: read.int('LOGIN_RATE_LIMIT', 30, 0, 1_000_000),
    loginAccountRateLimit: read.int('LOGIN_ACCOUNT_RATE_LIMIT', 100, 0, 1_000_000),
    loginRateWindowSeconds: read.int('LOGIN_RATE_WINDOW', 60, 1, 86400),
    mailRateLimit: read.int('MAIL_RATE_LIMIT', 5, 0, 1_000_000),
    mailIpRateLimit: read.int('MAIL_IP_RATE_LIMIT', 30, 0, 1_000_000),
    throttles: readThrottles(read),
  }
}

/**
 * THROTTLE_ANON, THROTTLE_USER, THROTTLE_SCOPE_<GROUP> (THROTTLE_SCOPE_LOGIN, ...) and
 * THROTTLE_ALLOW (comma-separated addresses and CIDR ranges). Every one is off by default: the
 * limits on by default are the login account budget and the mail limits above.
 */
export function readThrottles(read: Reader): ThrottleSettings {
  const rate = (name: string): Rate | undefined => {
    const parsed = parseRate(read.env[name])
    if (typeof parsed !== 'string') return parsed
    read.problem(`${name}: ${parsed}`)
    return undefined
  }
  const scopes: Partial<Record<ThrottleScope, Rate>> = {}
  for (const scope of THROTTLE_SCOPES) {
    const r = rate(`THROTTLE_SCOPE_${scope.toUpperCase()}`)
    if (r) scopes[scope] = r
  }
  const allow: string[] = []
  for (const item of (read.env.THROTTLE_ALLOW ?? '').split(',')) {
    const range = item.trim()
    if (!range) continue
    if (allowList([range])) allow.push(range)
    else
      read.problem(
        `THROTTLE_ALLOW: expected addresses or CIDR ranges, comma-separated, got "${range.slice(0, 64)}".`,
      )
  }
  return { anon: rate('THROTTLE_ANON'), user: rate('THROTTLE_USER'), scopes, allow }
}
