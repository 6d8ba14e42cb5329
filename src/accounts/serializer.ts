import { isExpired } from './expiry.js'
import type { UserRecord } from './users.js'

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null)

/** Per user row object: its serialized body, and the `profile.expired` it was made with. */
const serializedUsers = new WeakMap<UserRecord, { expired: boolean; json: string }>()

/**
 * userBody(user) as the route's serializer writes it, remembered per row object: GET /users/me/
 * answers from rows read a moment ago (RecentUsers hands out one object per read), so the same
 * text would be made again for every request. Only `profile.expired` moves with the clock.
 */
export function serializedUser(
  user: UserRecord,
  serialize: (body: ReturnType<typeof userBody>) => string,
): string {
  const expired = isExpired(user)
  const held = serializedUsers.get(user)
  if (held !== undefined && held.expired === expired) return held.json
  const json = serialize(userBody(user))
  serializedUsers.set(user, { expired, json })
  return json
}

/** The full user object of the contract. */
export function userBody(user: UserRecord) {
  return {
    id: user.id,
    user_id: user.id,
    username: user.username,
    email: user.email,
    first_name: user.firstName,
    last_name: user.lastName,
    is_active: user.isActive,
    is_staff: user.isStaff,
    is_superuser: user.isSuperuser,
    is_manager: user.isManager,
    date_joined: user.dateJoined.toISOString(),
    last_login: iso(user.lastLogin),
    client_id: user.clientId,
    client_name: user.clientName,
    email_verified: user.emailVerified,
    mfa_enabled: user.mfaEnabled,
    profile: {
      expired: isExpired(user),
      expiry_date: iso(user.expiryDate),
      created_at: iso(user.profileCreatedAt ?? user.dateJoined),
      updated_at: iso(user.profileUpdatedAt ?? user.dateJoined),
    },
  }
}
