import type { Reader } from './read.js'

/** The throttles: attempts per window before a login or a mail request is refused with 429. */
export interface LimitsConfig {
  loginRateLimit: number
  loginAccountRateLimit: number
  loginRateWindowSeconds: number
  mailRateLimit: number
  mailIpRateLimit: number
}

export function readLimits(read: Reader): LimitsConfig {
  return {
    loginRateLimit: read.int('LOGIN_RATE_LIMIT', 30, 0, 1_000_000),
    loginAccountRateLimit: read.int('LOGIN_ACCOUNT_RATE_LIMIT', 100, 0, 1_000_000),
    loginRateWindowSeconds: read.int('LOGIN_RATE_WINDOW', 60, 1, 86400),
    mailRateLimit: read.int('MAIL_RATE_LIMIT', 5, 0, 1_000_000),
    mailIpRateLimit: read.int('MAIL_IP_RATE_LIMIT', 30, 0, 1_000_000),
  }
}
