import { fullFormats } from 'ajv-formats/dist/formats.js'
import { FieldErrors } from '../http/errors.js'
import type { Repositories } from '../repositories.js'
import type { EmailVerification } from '../mail/email-verification.js'
import type { PasswordHasher } from './passwords.js'
import type { Conflict } from './sql-helpers.js'
import { foreignAddress, mixesScripts, normalizeUsername, usernameMessages } from './usernames.js'
import { DuplicateError, type UserRecord } from './users.js'

export interface NewAccount {
  username: string
  /** Empty: no e-mail (it may repeat). */
  email?: string
  password: string
  firstName?: string
  lastName?: string
  isStaff?: boolean
  isSuperuser?: boolean
  isActive?: boolean
  isManager?: boolean
  clientId?: number | null
  expiryDate?: Date | null
  /** The operator vouches for the address (the CLI); else a verification link is sent, if `verification` is given. */
  emailVerified?: boolean
}

/** The account could not be made because another holds its username or e-mail. */
export class TakenError extends FieldErrors {}

// Django's UnicodeUsernameValidator, and its User model's lengths.
const USERNAME = /^[\p{L}\p{N}_.@+-]+$/u
const isEmail = fullFormats.email as RegExp
const taken: Record<Conflict, ['username' | 'email', string]> = {
  username: ['username', 'A user with that username already exists.'],
  email: ['email', 'A user with that email already exists.'],
  usernameIsEmail: ['username', usernameMessages.isAnotherEmail],
  emailIsUsername: ['email', usernameMessages.isAnotherUsername],
}

/**
 * The one way a user is made: by an operator over HTTP, by `npm run cli -- create-user`, and for
 * ADMIN_USERNAME at start. One set of rules, in DRF's words, field by field: Django's username
 * rule and lengths, an e-mail address or none, no NUL (PostgreSQL text cannot hold it), a
 * password; the username rules of src/accounts/usernames.ts (NFKC, one script, `@` only for the
 * account's own address); then neither the username nor the e-mail (case aside) taken, nor either
 * one the other of another account (as login identifiers). Throws FieldErrors
 * (TakenError for a taken name) and writes nothing then.
 */
export async function createUser(
  d: { repos: Pick<Repositories, 'users'>; hasher: PasswordHasher; verification?: EmailVerification },
  input: NewAccount,
): Promise<UserRecord> {
  // Stored as Django stores it: `ｃａｒｏｌ` is `carol`.
  const username = normalizeUsername(input.username.trim())
  const email = (input.email ?? '').trim()
  const problems = invalidFields({ ...input, username, email }) ?? ownAddressOnly(username, email)
  if (problems) throw new FieldErrors(problems)
  const conflicts = await d.repos.users.conflicts({ username, email })
  if (conflicts.length) throw takenError(conflicts)
  try {
    const verify = !input.emailVerified && email ? d.verification : undefined
    const user = await d.repos.users.create(
      { ...input, username, email, passwordHash: await d.hasher.hash(input.password) },
      verify && ((tx, id) => verify.queue(tx, { id, username, email })),
    )
    verify?.sent()
    return user
  } catch (err) {
    // Lost a race with another request creating the same user.
    if (err instanceof DuplicateError) throw takenError([err.field])
    throw err
  }
}

/**
 * What the fields of an account break of the API's rules, field by field in DRF's words, or
 * undefined. Also applied to each row `import-django` reads (without a password: it brings a hash).
 */
export function invalidFields(
  input: Omit<NewAccount, 'password'> & { email: string; password?: string },
): Record<string, string[]> | undefined {
  const out: Record<string, string[]> = {}
  const text: [string, string | undefined, number][] = [
    ['username', input.username, 150],
    ['email', input.email, 254],
    ['password', input.password, 4096],
    ['first_name', input.firstName, 150],
    ['last_name', input.lastName, 150],
  ]
  for (const [field, value, max] of text) {
    if (value === undefined) continue
    if (value.includes('\u0000')) out[field] = ['Null characters are not allowed.']
    else if (value.length > max) out[field] = [`Ensure this field has no more than ${max} characters.`]
  }
  if (!out.username) {
    if (input.username === '') out.username = ['This field may not be blank.']
    else if (!USERNAME.test(input.username)) {
      out.username = [
        'Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.',
      ]
    } else if (normalizeUsername(input.username) !== input.username) {
      out.username = [usernameMessages.notNormalized]
    } else if (mixesScripts(input.username)) {
      out.username = [usernameMessages.mixedScripts]
    }
  }
  if (!out.email && input.email !== '' && !isEmail.test(input.email))
    out.email = ['Enter a valid email address.']
  if (!out.password && input.password !== undefined) {
    const problem = passwordProblem(input.password)
    if (problem) out.password = [problem]
  }
  return Object.keys(out).length ? out : undefined
}

/** The API's password rule (CreateUserBody, new_password), for every other way in: the CLI, ADMIN_PASSWORD. */
export const MIN_PASSWORD_LENGTH = 8

/** What a new password breaks of that rule, in DRF's words, or undefined. Lengths count code points, as the API's. */
export function passwordProblem(password: string): string | undefined {
  if (password === '') return 'This field may not be blank.'
  if (password.includes('\u0000')) return 'Null characters are not allowed.'
  const length = [...password].length
  if (length < MIN_PASSWORD_LENGTH) return `Ensure this field has at least ${MIN_PASSWORD_LENGTH} characters.`
  if (length > 4096) return 'Ensure this field has no more than 4096 characters.'
  return undefined
}

/**
 * A new username with `@` is the account's own address (src/accounts/usernames.ts). Not applied to
 * `import-django`: Django allows `jo@x` beside another address, and the database's trigger (0010)
 * keeps such a name from ever being another account's e-mail.
 */
function ownAddressOnly(username: string, email: string): Record<string, string[]> | undefined {
  return foreignAddress(username, email) ? { username: [usernameMessages.foreignAddress] } : undefined
}

export function takenError(conflicts: Conflict[]): TakenError {
  const out: Record<string, string[]> = {}
  for (const c of conflicts) {
    const [field, message] = taken[c]
    out[field] = [...(out[field] ?? []), message]
  }
  return new TakenError(out)
}
