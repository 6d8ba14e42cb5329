import type { UserRecord } from './users.js'

/** An account past its expiry date: it may not log in, refresh or act (SimpleJWT's user check). */
export function isExpired(user: Pick<UserRecord, 'expiryDate'>, now = Date.now()): boolean {
  return user.expiryDate !== null && user.expiryDate.getTime() <= now
}
