import type { Reader } from './read.js'

export interface Argon2Params {
  memoryKiB: number
  timeCost: number
  parallelism: number
}

export const LEGACY_PASSWORD_HASHES = ['accept', 'refuse'] as const
export type LegacyPasswordHashes = (typeof LEGACY_PASSWORD_HASHES)[number]

/** How passwords are hashed and which old hashes still work, and the superuser made at start. */
export interface AccountsConfig {
  argon2: Argon2Params
  /** Whether Django's salted and unsalted MD5/SHA1 password hashes may still log in. */
  legacyPasswordHashes: LegacyPasswordHashes
  adminUsername: string | undefined
  adminPassword: string | undefined
  adminEmail: string
}

export function readAccounts(read: Reader): AccountsConfig {
  const accounts: AccountsConfig = {
    argon2: {
      memoryKiB: read.int('ARGON2_MEMORY_KIB', 19456, 1024, 4 * 1024 * 1024),
      timeCost: read.int('ARGON2_TIME_COST', 2, 1, 100),
      parallelism: read.int('ARGON2_PARALLELISM', 1, 1, 16),
    },
    legacyPasswordHashes: read.choice('LEGACY_PASSWORD_HASHES', 'accept', LEGACY_PASSWORD_HASHES),
    adminUsername: read.text('ADMIN_USERNAME'),
    adminPassword: read.text('ADMIN_PASSWORD'),
    adminEmail: read.env.ADMIN_EMAIL || '',
  }
  if (accounts.adminUsername && !accounts.adminPassword) {
    read.problem('ADMIN_PASSWORD: required when ADMIN_USERNAME is set.')
  }
  return accounts
}
