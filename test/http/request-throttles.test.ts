import t, { type Test } from 'tap'
import type { LightMyRequestResponse } from 'fastify'
import { paths, V1 } from '../../routes/paths.js'
import { loadConfig } from '../../src/config.js'
import { readThrottles } from '../../src/config/limits.js'
import { Reader } from '../../src/config/read.js'
import type { ThrottleSettings } from '../../src/http/throttle-rates.js'
import { MemoryRevocationStore } from '../../src/revocation/memory-store.js'
import { StoreUnavailableError } from '../../src/revocation/store.js'
import { eachBackend, makeApp, type TestApp } from '../helpers/backends.js'

/**
 * DRF's request throttles (THROTTLE_ANON, THROTTLE_USER, THROTTLE_SCOPE_<GROUP>, THROTTLE_ALLOW):
 * one counter per scope across every path, alias and spelling of its routes, answered with DRF's
 * 429 body and Retry-After, as the login account budget is.
 */

const THROTTLED = /^Request was throttled\. Expected available in \d+ seconds\.$/

function throttles(env: Record<string, string>): ThrottleSettings {
  const read = new Reader(env)
  const settings = readThrottles(read)
  if (read.problems.length) throw new Error(read.problems.join(' '))
  return settings
}

function assertThrottled(t: Test, res: LightMyRequestResponse, windowSeconds: number, what: string) {
  t.equal(res.statusCode, 429, `${what}: 429`)
  t.same(Object.keys(res.json()).sort(), ['code', 'detail'], `${what}: the login limit's body`)
  t.match(res.json(), { detail: THROTTLED, code: 'throttled' })
  const after = Number(res.headers['retry-after'])
  t.ok(after >= 1 && after <= windowSeconds, `${what}: Retry-After ${res.headers['retry-after']}`)
  t.equal(res.json().detail, `Request was throttled. Expected available in ${after} seconds.`)
}

/** Both spellings of each path: with and without its trailing slash. */
const spellings = (urls: readonly string[]) => urls.flatMap((u) => [u, u.replace(/\/$/, '')])

type Send = (h: TestApp, url: string, ip: string) => Promise<LightMyRequestResponse>
const post =
  (payload: Record<string, unknown>, headers: (h: TestApp) => Record<string, string> = () => ({})): Send =>
  (h, url, ip) =>
    h.request({ method: 'POST', url, remoteAddress: ip, payload, headers: headers(h) })

interface ScopeCase {
  urls: string[]
  send: Send
  /** Needs a signed-in caller (the scope then counts per user). */
  signedIn?: boolean
}

let bearer: Record<string, string> = {}
const scopes: Record<string, ScopeCase> = {
  login: { urls: spellings(paths.login), send: post({ username: 'nobody', password: 'wrong' }) },
  refresh: { urls: spellings(paths.refresh), send: post({ refresh: 'not-a-token' }) },
  verify: { urls: spellings(paths.verify), send: post({ token: 'not-a-token' }) },
  mail: {
    urls: spellings([`${V1}/password/reset/`, `${V1}/email/verify/`]),
    send: (h, url, ip) =>
      h.request({
        method: 'POST',
        url,
        remoteAddress: ip,
        payload: url.includes('reset') ? { email: `x${Math.random()}@example.com` } : { token: 'nope' },
      }),
  },
  mfa: { urls: spellings([`${V1}/token/mfa/`]), send: post({ mfa_token: 'nope', code: '000000' }) },
  introspection: {
    urls: spellings([`${V1}/introspect/`, `${V1}/revoke/`]),
    send: post({ token: 'nope' }, () => bearer),
    signedIn: true,
  },
  admin: {
    urls: spellings([`${V1}/admin/audit/`, `${V1}/admin/sessions/`, `${V1}/admin/webhooks/`]),
    send: (h, url, ip) => h.request({ method: 'GET', url, remoteAddress: ip, headers: bearer }),
    signedIn: true,
  },
}

t.test('each scope: one counter over every path and spelling, per caller', async (t) => {
  await eachBackend(t, async (t, backend) => {
    // Every scope on at once, each at as many requests as it has spellings: counters are per scope.
    const env = Object.fromEntries(
      Object.entries(scopes).map(([scope, c]) => [
        `THROTTLE_SCOPE_${scope.toUpperCase()}`,
        `${c.urls.length}/minute`,
      ]),
    )
    const h = await makeApp(t, backend, { throttles: throttles(env), mailEnabled: true, mailIpRateLimit: 0 })
    const user = await h.createUser()
    bearer = h.bearer((await h.login(user.username, user.password)).access)
    for (const [scope, c] of Object.entries(scopes)) {
      const statuses = []
      for (const url of c.urls) statuses.push((await c.send(h, url, '203.0.113.5')).statusCode)
      t.notOk(
        statuses.includes(429),
        `${scope}: ${c.urls.length} requests over as many spellings are heard (${statuses})`,
      )
      for (const url of [c.urls[0]!, c.urls.at(-1)!])
        assertThrottled(t, await c.send(h, url, '203.0.113.5'), 60, `${scope} ${url}`)
      const other = await c.send(h, c.urls[1]!, '198.51.100.5')
      if (c.signedIn)
        t.equal(other.statusCode, 429, `${scope}: the same user from another address is throttled`)
      else t.not(other.statusCode, 429, `${scope}: another address has its own budget`)
    }
    const outside = await h.request({
      method: 'GET',
      url: '/.well-known/jwks.json',
      remoteAddress: '203.0.113.5',
    })
    t.equal(outside.statusCode, 200, 'routes outside the groups are not throttled')
  })
})

t.test('anonymous and user rates, and the allow-list', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend, {
      throttles: throttles({
        THROTTLE_ANON: '3/hour',
        THROTTLE_USER: '4/day',
        THROTTLE_ALLOW: '10.0.0.0/8,fd00::/8',
      }),
    })
    const user = await h.createUser()
    const { access } = await h.login(user.username, user.password)
    const anon = (url: string, ip: string) => h.request({ method: 'GET', url, remoteAddress: ip })
    t.equal((await anon('/.well-known/jwks.json', '192.0.2.1')).statusCode, 200)
    t.equal((await anon('/.well-known/openid-configuration', '192.0.2.1')).statusCode, 200)
    t.equal((await anon('/.well-known/jwks.json/', '192.0.2.1')).statusCode, 200)
    assertThrottled(t, await anon('/.well-known/jwks.json/', '192.0.2.1'), 3600, 'anonymous, 4th request')
    t.equal((await anon('/health/live', '192.0.2.1')).statusCode, 200, 'health checks are never throttled')
    t.equal((await anon('/.well-known/jwks.json', '192.0.2.2')).statusCode, 200, 'another address')

    const me = (ip: string) =>
      h.request({ method: 'GET', url: '/api/user/', remoteAddress: ip, headers: h.bearer(access) })
    // A signed-in caller spends the user rate only, from any address.
    for (const ip of ['192.0.2.1', '192.0.2.50', '198.51.100.1', '198.51.100.2'])
      t.equal((await me(ip)).statusCode, 200)
    assertThrottled(t, await me('198.51.100.3'), 86400, 'user, 5th request from a new address')

    for (let i = 0; i < 8; i++) {
      t.equal((await me('10.1.2.3')).statusCode, 200, 'a trusted backend passes the user rate')
      t.equal((await anon('/.well-known/jwks.json', 'fd00::7')).statusCode, 200, 'and the anonymous one')
    }
  })
})

t.test('off by default: the plugin is not even registered, and the login budget is as today', async (t) => {
  const config = loadConfig({ NODE_ENV: 'test' })
  t.same(config.throttles, { anon: undefined, user: undefined, scopes: {}, allow: [] })
  t.equal(config.loginRateLimit, 30)
  t.equal(config.loginAccountRateLimit, 100)
  const h = await makeApp(t, 'embedded')
  t.notOk(h.app.hasPlugin('@fastify/rate-limit'), 'no rate-limit plugin, no per-request work')
})

t.test('settings: DRF rates, checked at start', async (t) => {
  const s = throttles({
    THROTTLE_ANON: '100/min',
    THROTTLE_USER: '5/s',
    THROTTLE_SCOPE_LOGIN: '10/Hour',
    THROTTLE_SCOPE_MAIL: 'off',
  })
  t.same(s.anon, { max: 100, windowMs: 60_000 })
  t.same(s.user, { max: 5, windowMs: 1000 })
  t.same(s.scopes, { login: { max: 10, windowMs: 3_600_000 } })
  t.throws(
    () =>
      loadConfig({
        NODE_ENV: 'test',
        THROTTLE_SCOPE_REFRESH: '10 per minute',
        THROTTLE_ALLOW: '10.0.0.0/33',
      }),
    /THROTTLE_SCOPE_REFRESH: expected off or N\/second[\s\S]*THROTTLE_ALLOW: expected addresses or CIDR ranges/,
  )
})

t.test('a store that cannot count refuses (503), as for the login budget: never unthrottled', async (t) => {
  const store = new MemoryRevocationStore()
  t.teardown(() => store.close())
  const h = await makeApp(t, 'real', { throttles: throttles({ THROTTLE_SCOPE_VERIFY: '100/minute' }) }, store)
  store.hit = async () => {
    throw new StoreUnavailableError(new Error('connection lost'))
  }
  const res = await h.request({ method: 'POST', url: paths.verify[1]!, payload: { token: 'x' } })
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'service_unavailable')
})
