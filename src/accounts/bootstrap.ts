import type { AccountsConfig } from '../config/accounts.js'
import { ConfigError } from '../config/read.js'
import type { Repositories } from '../repositories.js'
import { FieldErrors } from '../http/errors.js'
import { createUser } from './create-user.js'
import type { PasswordHasher } from './passwords.js'

/**
 * Creates ADMIN_USERNAME as a superuser on start when it does not exist yet, by the same rules
 * as every other user; a name those rules refuse is a bad configuration (ConfigError).
 */
export async function ensureAdmin(
  d: { repos: Pick<Repositories, 'users'>; hasher: PasswordHasher },
  config: Pick<AccountsConfig, 'adminUsername' | 'adminPassword' | 'adminEmail'>,
): Promise<'created' | 'exists' | 'skipped'> {
  const { adminUsername, adminPassword, adminEmail } = config
  if (!adminUsername || !adminPassword) return 'skipped'
  if (await d.repos.users.findByLogin(adminUsername)) return 'exists'
  try {
    await createUser(d, {
      username: adminUsername,
      email: adminEmail,
      password: adminPassword,
      isStaff: true,
      isSuperuser: true,
      emailVerified: true,
    })
  } catch (err) {
    if (!(err instanceof FieldErrors)) throw err
    const env = { username: 'ADMIN_USERNAME', email: 'ADMIN_EMAIL', password: 'ADMIN_PASSWORD' }
    const problems = Object.entries(err.fields).map(
      ([field, [sentence]]) => `${env[field as keyof typeof env] ?? field}: ${sentence}`,
    )
    throw new ConfigError(problems)
  }
  return 'created'
}
