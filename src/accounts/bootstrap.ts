import type { FastifyInstance } from 'fastify'

/** Creates ADMIN_USERNAME as a superuser on start when it does not exist yet. */
export async function ensureAdmin(app: FastifyInstance): Promise<'created' | 'exists' | 'skipped'> {
  const { adminUsername, adminPassword, adminEmail } = app.config
  if (!adminUsername || !adminPassword) return 'skipped'
  if (await app.repos.users.findByLogin(adminUsername)) return 'exists'
  await app.repos.users.create({
    username: adminUsername,
    email: adminEmail,
    passwordHash: await app.hasher.hash(adminPassword),
    isStaff: true,
    isSuperuser: true,
  })
  return 'created'
}
