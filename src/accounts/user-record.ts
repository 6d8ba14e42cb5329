import type { UserRow } from '../../schema/db.js'

/** A user with what every answer about a user needs: the profile's expiry and the tenant's name. */
export interface UserRecord extends Omit<UserRow, 'emailShared'> {
  expiryDate: Date | null
  profileCreatedAt: Date | null
  profileUpdatedAt: Date | null
  clientName: string | null
}

export interface NewUser {
  username: string
  email: string
  passwordHash: string
  firstName?: string
  lastName?: string
  isActive?: boolean
  isStaff?: boolean
  isSuperuser?: boolean
  isManager?: boolean
  clientId?: number | null
  expiryDate?: Date | null
  emailVerified?: boolean
}

export interface UserPatch {
  email?: string
  firstName?: string
  lastName?: string
  isActive?: boolean
  isStaff?: boolean
  isManager?: boolean
  expiryDate?: Date | null
  /** Set by a confirmed verification link; a changed e-mail is unverified unless this says otherwise. */
  emailVerified?: boolean
  /** Kept by src/mfa/two-factor.ts, in the transaction that turns two-factor on or off. */
  mfaEnabled?: boolean
}
