import { invalidFields } from '../accounts/create-user.js'
import type { ImportedUser } from '../accounts/user-import.js'
import { MAX_ROW_ID } from '../tokens/claims.js'
import { hashProblem } from './hash-limits.js'

/** A row of Django's auth_user, as read from its database or from `manage.py dumpdata`. */
export interface DjangoUser {
  id: unknown
  password: unknown
  last_login: unknown
  is_superuser: unknown
  username: unknown
  first_name: unknown
  last_name: unknown
  email: unknown
  is_staff: unknown
  is_active: unknown
  date_joined: unknown
}

/** A source row as one of ours, or the reason it cannot be one. */
export function readUser(raw: DjangoUser): ImportedUser | string {
  const id = typeof raw.id === 'string' && /^\d+$/.test(raw.id) ? Number(raw.id) : raw.id
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > MAX_ROW_ID) {
    return `id must be a whole number from 1 to ${MAX_ROW_ID}`
  }
  const username = raw.username
  if (typeof username !== 'string' || username === '') return 'username is missing'
  const [email, firstName, lastName] = [raw.email, raw.first_name, raw.last_name].map((v) => v ?? '')
  if (typeof email !== 'string' || typeof firstName !== 'string' || typeof lastName !== 'string') {
    return 'email, first_name and last_name must be text'
  }
  // The API's own rules, so a rule it changes applies here too.
  const problems = invalidFields({ username, email, firstName, lastName })
  if (problems) {
    return Object.entries(problems)
      .map(([field, messages]) => `${field}: ${messages.join(' ')}`)
      .join('; ')
  }
  if (typeof raw.password !== 'string') return 'password is missing'
  const passwordHash = raw.password
  const unbounded = passwordHash.includes('\u0000') ? 'holds a NUL character' : hashProblem(passwordHash)
  if (unbounded) return `password hash ${unbounded}`
  const dateJoined = date(raw.date_joined)
  if (!dateJoined) return 'date_joined is not a time'
  const lastLogin = raw.last_login === null || raw.last_login === undefined ? null : date(raw.last_login)
  if (lastLogin === undefined) return 'last_login is not a time'
  const flags = [raw.is_active, raw.is_staff, raw.is_superuser].map(flag)
  if (flags.includes(undefined)) return 'is_active, is_staff and is_superuser must be true or false'
  const [isActive, isStaff, isSuperuser] = flags as boolean[]
  return {
    id,
    username,
    email,
    passwordHash,
    firstName,
    lastName,
    isActive: isActive!,
    isStaff: isStaff!,
    isSuperuser: isSuperuser!,
    dateJoined,
    lastLogin,
    emailShared: false,
  }
}

function flag(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v
  if (v === 't' || v === 'true') return true
  if (v === 'f' || v === 'false') return false
  return undefined
}

function date(v: unknown): Date | undefined {
  const d = v instanceof Date ? v : typeof v === 'string' ? new Date(v) : undefined
  return d && !Number.isNaN(d.getTime()) ? d : undefined
}
