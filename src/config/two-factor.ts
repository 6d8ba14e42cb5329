import type { Reader } from './read.js'

export interface TwoFactorConfig {
  /** Staff act as staff only with two-factor on (they may still log in, and enrol). */
  mfaRequiredForStaff: boolean
  /** Wrong second-factor codes one account may get in a day before its two-factor logins lock; 0: no cap. */
  mfaDailyFailureLimit: number
}

export function readTwoFactor(read: Reader): TwoFactorConfig {
  return {
    mfaRequiredForStaff: read.bool('MFA_REQUIRED_FOR_STAFF', false),
    mfaDailyFailureLimit: read.int('MFA_DAILY_FAILURE_LIMIT', 20, 0, 1_000_000),
  }
}
