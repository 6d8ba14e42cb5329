import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { ApiRequestError, AuthClient, type Tokens } from '../../src/client/index.js'
import { startServer } from '../helpers/server-process.js'

t.setTimeout(120_000)

const ADMIN = { username: 'clientadmin', password: 'client-admin-password' }
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A live server (embedded backends) with three-second access tokens. */
async function liveServer(t: Parameters<typeof startServer>[0]) {
  const dir = await mkdtemp(join(tmpdir(), 'authjwt-client-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return startServer(t, {
    DATA_DIR: dir,
    ACCESS_TOKEN_LIFETIME: '3',
    ADMIN_USERNAME: ADMIN.username,
    ADMIN_PASSWORD: ADMIN.password,
    ARGON2_MEMORY_KIB: '1024',
    ARGON2_TIME_COST: '1',
  })
}

/** fetch, counting the refresh requests that reach the server. */
function countingFetch() {
  const counts = { refresh: 0 }
  const wrapped: typeof fetch = (input, init) => {
    if (String(input).includes('/token/refresh/')) counts.refresh++
    return fetch(input, init)
  }
  return { counts, fetch: wrapped }
}

t.test('50 concurrent requests across an access-token expiry: one refresh, no failure', async (t) => {
  const server = await liveServer(t)
  const { counts, fetch } = countingFetch()
  const stored: (Tokens | null)[] = []
  const client = new AuthClient({ baseUrl: server.base, fetch, onTokens: (tokens) => stored.push(tokens) })
  const login = await client.login(ADMIN.username, ADMIN.password, { client_type: 'website' })
  t.equal(login.username, ADMIN.username)
  t.equal((await client.me()).username, ADMIN.username)

  // Half the requests leave before the token expires, half after; they overlap its expiry.
  const exp = JSON.parse(Buffer.from(login.access.split('.')[1]!, 'base64url').toString()).exp as number
  await sleep(Math.max(0, exp * 1000 - Date.now() - 300))
  const results = await Promise.allSettled(
    Array.from({ length: 50 }, async (_, i) => {
      await sleep(i * 12)
      return client.me()
    }),
  )
  const failures = results.filter((r) => r.status === 'rejected')
  t.equal(failures.length, 0, `no request failed${failures.length ? `: ${String(failures[0])}` : ''}`)
  t.equal(counts.refresh, 1, 'exactly one refresh call')
  t.not(client.current?.access, login.access, 'the client holds the new pair')
  t.same(stored.at(-1), client.current, 'and told its storage')

  const sessions = await client.sessions()
  t.ok(
    sessions.some((s) => s.id === login.session_id),
    'the login is one of the sessions',
  )
  await client.logout()
  t.equal(client.current, undefined, 'logout forgets the tokens')
  const after = new AuthClient({ baseUrl: server.base, tokens: stored.at(-2)! })
  const refused = await after.me().catch((err: unknown) => err)
  t.ok(refused instanceof ApiRequestError && refused.status === 401, 'the logged-out session is refused')
})

t.test('a revoked token is not retried; a wrong password is the service’s own answer', async (t) => {
  const server = await liveServer(t)
  const { counts, fetch } = countingFetch()
  const client = new AuthClient({ baseUrl: server.base, fetch })
  const wrong = await client.login(ADMIN.username, 'not-it').catch((err: unknown) => err)
  t.ok(wrong instanceof ApiRequestError)
  t.same((wrong as ApiRequestError).body, { detail: 'No active account found with the given credentials' })

  await client.login(ADMIN.username, ADMIN.password)
  const other = new AuthClient({ baseUrl: server.base })
  await other.login(ADMIN.username, ADMIN.password)
  const own = await other.sessions()
  const mine = own.find((s) => !s.is_current)!
  await other.revokeSession(mine.id)
  const res = await client.me().catch((err: unknown) => err)
  t.ok(res instanceof ApiRequestError && res.status === 401, 'revoked: 401')
  t.equal((res as ApiRequestError & { body: { code: string } }).body.code, 'token_revoked')
  t.equal(counts.refresh, 0, 'no refresh was tried for a revoked token')
})
