import Fastify from 'fastify'
import { PasswordHasher } from '../src/accounts/passwords.js'
import { loadConfig } from '../src/config.js'
import { Keyring } from '../src/keys/keyring.js'
import { buildClaims } from '../src/tokens/claims.js'
import { LoginBody } from '../schema/wire.js'
import { BENCH_PASSWORD } from './argon2.js'

/**
 * The login's reference (bench only): the same HTTP stack, body schema, argon2id hasher and
 * keyring as the service, doing nothing else. No rate limit, no user row, no session, no audit:
 * what a login could reach on this machine if storing it cost nothing. `npm run bench` starts it
 * beside the server and measures it in the same slices as the login (issue 17's 0.95x target).
 * Environment: PORT, SIGNING_KEY, and the service's ARGON2_* settings.
 */
const config = loadConfig(process.env)
const hasher = new PasswordHasher(config.argon2)
const keyring = new Keyring({
  algorithm: config.jwtAlgorithm,
  signingKey: config.signingKey,
  privateKey: config.privateKey,
  lifetimeSeconds: Math.max(config.refreshTokenLifetime, config.accessTokenLifetime),
})
const stored = await hasher.hash(BENCH_PASSWORD)
let sessions = 0

const app = Fastify({ logger: false })
app.post<{ Body: { username: string; password: string } }>(
  '/api/auth/token/',
  { schema: { body: LoginBody } },
  async (request, reply) => {
    if (!(await hasher.verify(stored, request.body.password))) {
      return reply.code(401).send({ detail: 'No active account found with the given credentials' })
    }
    const nowMs = Date.now()
    const base = { user_id: 1, sid: ++sessions, client_id: null }
    return {
      refresh: keyring.sign(buildClaims('refresh', config.refreshTokenLifetime, base, nowMs)),
      access: keyring.sign(buildClaims('access', config.accessTokenLifetime, base, nowMs)),
      user: { id: 1, username: request.body.username, email: '', first_name: '', last_name: '' },
      session_id: base.sid,
    }
  },
)
app.get('/health/live', async () => ({ status: 'ok' }))
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) })
