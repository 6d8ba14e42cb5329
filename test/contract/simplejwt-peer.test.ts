import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import postgres from 'postgres'
import t, { type Test } from 'tap'
import { backendNames, eachBackend, makeApp, PG_URL, type TestApp } from '../helpers/backends.js'
import { importInto, SHARED } from '../helpers/django.js'
import { freePort } from '../helpers/private-servers.js'
import { decodeJwt } from '../helpers/tokens.js'

/**
 * Against a real, stock SimpleJWT (../shared/peers/simplejwt) sharing our signing key: tokens it
 * issued before the move keep working here until LEGACY_TOKENS_UNTIL, and ours work there.
 */
t.setTimeout(300_000)

const PEER = join(SHARED, 'peers', 'simplejwt')
const KEY = 'simplejwt-peer-insecure-dev-key-do-not-use-in-production'
const PYTHON = '/usr/bin/python3'
const requireReal = process.env.CI === 'true' || process.env.REQUIRE_REAL_BACKENDS === '1'

function peerInstalled(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import django, rest_framework_simplejwt, gunicorn'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

interface PeerAnswer {
  status: number
  body: Record<string, unknown>
}

interface Peer {
  base: string
  db: string
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<PeerAnswer>
  get(path: string, headers?: Record<string, string>): Promise<PeerAnswer>
}

/** A peer of this test's own: its own port and database, stopped and dropped at the end. */
async function startPeer(t: Test): Promise<Peer | undefined> {
  if (!peerInstalled()) {
    const why = 'the SimpleJWT peer needs python3-django, python3-djangorestframework-simplejwt and gunicorn'
    if (requireReal) t.fail(`${why} (required in CI; .ci/run installs them)`)
    else t.comment(`NOTE: ${why}; not tested here`)
    return undefined
  }
  const port = await freePort()
  const db = `authjwt_peer_${randomBytes(5).toString('hex')}`
  const env = { ...process.env, DB_NAME: db, DJANGO_SECRET_KEY: KEY, WORKERS: '1', PYTHON }
  t.teardown(async () => {
    execFileSync(join(PEER, 'stop.sh'), [String(port)], { env, stdio: 'ignore' })
    const admin = postgres(PG_URL, { max: 1, onnotice: () => {} })
    await admin.unsafe(`drop database if exists ${db} with (force)`)
    await admin.end({ timeout: 2 })
  })
  execFileSync(join(PEER, 'start.sh'), [String(port)], { env, stdio: 'ignore', timeout: 120_000 })
  const base = `http://127.0.0.1:${port}`
  const send = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    return { status: res.status, body: await res.json().catch(() => ({})) }
  }
  const url = new URL(PG_URL)
  url.pathname = `/${db}`
  return {
    base,
    db: url.toString(),
    post: (path, body, headers) => send('POST', path, body, headers),
    get: (path, headers) => send('GET', path, undefined, headers),
  }
}

const ALICE = { username: 'alice', password: 'alice-pass-123' }

const testAuth = (app: TestApp, access: string) =>
  app.request({ method: 'GET', url: '/api/test-auth/', headers: app.bearer(access) })
const refreshWith = (app: TestApp, refresh: string) =>
  app.request({ method: 'POST', url: '/api/token/refresh/', payload: { refresh } })

t.test('tokens cross between a live SimpleJWT and us, both ways', async (t) => {
  if (!(await backendNames(t)).includes('real')) return
  const peer = await startPeer(t)
  if (!peer) return
  const peerLogin = async () => {
    const res = await peer.post('/api/token/', ALICE)
    t.equal(res.status, 200, 'the peer logs alice in')
    return res.body as { access: string; refresh: string }
  }
  const aliceId = decodeJwt((await peerLogin()).access).payload.user_id as number

  await eachBackend(t, async (t, backend) => {
    // Issued by SimpleJWT before the import: one pair in use, one refresh token blacklisted there.
    const theirs = await peerLogin()
    const blacklisted = await peerLogin()
    t.equal((await peer.post('/api/token/blacklist/', { refresh: blacklisted.refresh })).status, 200)

    const app = await makeApp(t, backend, { signingKey: KEY, legacyTokensUntil: Date.now() + 3600_000 })
    await importInto(app, peer.db)

    const me = await testAuth(app, theirs.access)
    t.equal(me.statusCode, 200, "SimpleJWT's access token works here before the cut-off")

    const refreshed = await refreshWith(app, theirs.refresh)
    t.equal(refreshed.statusCode, 200, "SimpleJWT's refresh token refreshes here")
    const ours = refreshed.json() as { access: string; refresh: string }
    const claims = decodeJwt(ours.refresh).payload
    t.equal(claims.user_id, aliceId)
    t.type(claims.sid, 'number', 'into a session of ours')
    const sessions = await app.request({
      method: 'GET',
      url: '/api/v1/auth/sessions/',
      headers: app.bearer(ours.access),
    })
    t.equal(sessions.statusCode, 200)
    t.match(sessions.body, new RegExp(`"id":${claims.sid}\\b`), 'the session is listed')

    const replay = await refreshWith(app, theirs.refresh)
    t.equal(replay.statusCode, 401, 'the SimpleJWT refresh token is spent')
    t.same(replay.json(), { detail: 'Token is blacklisted', code: 'token_not_valid' })
    const refused = await refreshWith(app, blacklisted.refresh)
    t.equal(refused.statusCode, 401, 'a token SimpleJWT blacklisted is refused')
    t.same(refused.json(), { detail: 'Token is blacklisted', code: 'token_not_valid' })

    const revoked = await app.request({
      method: 'POST',
      url: `/api/v1/auth/sessions/${claims.sid}/revoke/`,
      headers: app.bearer(ours.access),
    })
    t.equal(revoked.statusCode, 200, 'the session is revocable')
    const after = await refreshWith(app, ours.refresh)
    t.equal(after.statusCode, 401, "the revoked session's refresh token is refused")

    // Ours at the peer: alice logs in here with her Django password, and the peer accepts the token.
    const login = await app.login(ALICE.username, ALICE.password)
    t.equal(
      (await peer.post('/api/token/verify/', { token: login.access })).status,
      200,
      'the peer verifies ours',
    )
    const there = await peer.get('/api/user/', { authorization: `Bearer ${login.access}` })
    t.equal(there.status, 200, "the peer's JWTAuthentication accepts ours")
    t.equal(there.body.id, aliceId, 'for the same user id')

    // After the cut-off, a token without a session is refused like any invalid token.
    const later = await makeApp(t, backend, { signingKey: KEY, legacyTokensUntil: Date.now() - 1000 })
    await importInto(later, peer.db)
    const fresh = await peerLogin()
    const outside = await testAuth(later, fresh.access)
    t.equal(outside.statusCode, 401, "SimpleJWT's access token is refused after the cut-off")
    const afterRefresh = await refreshWith(later, fresh.refresh)
    t.equal(afterRefresh.statusCode, 401, 'and its refresh token too')
    t.same(afterRefresh.json(), { detail: 'Token is invalid or expired', code: 'token_not_valid' })
  })
})
