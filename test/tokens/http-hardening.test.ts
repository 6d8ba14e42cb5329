import { request } from 'node:http'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { MemoryRevocationStore } from '../../src/revocation/memory-store.js'
import { openDatabase } from '../../src/database/database.js'
import { makeApp, testConfig } from '../helpers/backends.js'
import { craftToken, decodeJwt } from '../helpers/tokens.js'

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** The same signature bytes written another way: the last character's unused low bits set. */
function respell(token: string): string {
  const last = token.at(-1)!
  const index = BASE64URL.indexOf(last)
  // A 43-character HS256 signature leaves the last character's two low bits unused.
  return token.slice(0, -1) + BASE64URL[(index & ~3) | ((index + 1) & 3)]
}

t.test('a signature is accepted in its canonical base64url spelling only', async (t) => {
  const h = await makeApp(t, 'embedded')
  const user = await h.createUser()
  const { access, refresh } = await h.login(user.username, user.password)
  const odd = respell(access)
  t.not(odd, access)
  t.same(Buffer.from(odd.split('.')[2]!, 'base64url'), Buffer.from(access.split('.')[2]!, 'base64url'))
  const me = await h.request({ method: 'GET', url: '/api/user/', headers: h.bearer(odd) })
  t.equal(me.statusCode, 401, 'a protected route refuses it')
  t.equal(me.json().code, 'token_not_valid')
  const verify = await h.request({ method: 'POST', url: '/api/token/verify/', payload: { token: odd } })
  t.equal(verify.statusCode, 401, 'verify refuses it')
  const renewed = await h.request({
    method: 'POST',
    url: '/api/token/refresh/',
    payload: { refresh: respell(refresh) },
  })
  t.equal(renewed.statusCode, 401, 'refresh refuses it')
  t.equal((await h.request({ method: 'GET', url: '/api/user/', headers: h.bearer(access) })).statusCode, 200)
})

t.test('refresh and blacklist say "Token has no type" for a token without the claim', async (t) => {
  const h = await makeApp(t, 'embedded')
  const user = await h.createUser()
  const { refresh } = await h.login(user.username, user.password)
  const { token_type: _, ...claims } = decodeJwt(refresh).payload
  const untyped = craftToken(claims, h.config.signingKey)
  for (const url of ['/api/token/refresh/', '/api/token/blacklist/']) {
    const res = await h.request({ method: 'POST', url, payload: { refresh: untyped } })
    t.equal(res.statusCode, 401, url)
    t.same(res.json(), { detail: 'Token has no type', code: 'token_not_valid' })
  }
})

t.test('oversized bodies and headers answer in the contract shape', async (t) => {
  const database = await openDatabase({})
  await database.migrate()
  const store = new MemoryRevocationStore()
  const app = await buildApp(testConfig({ bodyLimit: 1024 }), { database, store, logger: false })
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(async () => {
    await app.close()
    await store.close()
    await database.close()
  })
  const { port } = app.server.address() as { port: number }
  const send = (headers: Record<string, string>, body?: string) =>
    new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      const req = request(
        { port, host: '127.0.0.1', method: 'POST', path: '/api/token/', headers },
        (res) => {
          let text = ''
          res.on('data', (d) => {
            text += d
          })
          res.on('end', () =>
            resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body: text }),
          )
        },
      )
      req.on('error', reject)
      req.end(body)
    })
  const big = await send(
    { 'content-type': 'application/json' },
    JSON.stringify({ username: 'a'.repeat(4000) }),
  )
  t.equal(big.status, 413)
  t.same(JSON.parse(big.body), { detail: 'Request body is too large.', code: 'payload_too_large' })
  const chunked = await send(
    { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    JSON.stringify({ username: 'a'.repeat(4000) }),
  )
  t.equal(chunked.status, 413, 'also without a Content-Length')
  const headers = await send({ 'x-filler': 'a'.repeat(20_000) })
  t.equal(headers.status, 431)
  t.match(headers.type, 'application/json')
  t.same(JSON.parse(headers.body), {
    detail: 'Request header fields are too large.',
    code: 'header_fields_too_large',
  })
})

t.test('documentation pages forbid framing and foreign scripts', async (t) => {
  const h = await makeApp(t, 'embedded')
  for (const url of [
    '/api/v1/schema/swagger-ui/',
    '/api/v1/schema/swagger-ui/static/swagger-initializer.js',
    '/api/v1/schema/redoc/',
  ]) {
    const res = await h.request({ method: 'GET', url })
    t.equal(res.statusCode, 200, url)
    const csp = String(res.headers['content-security-policy'])
    t.match(csp, "frame-ancestors 'none'", `${url}: no framing`)
    t.match(csp, "script-src 'self'", `${url}: own scripts only`)
    t.notMatch(csp, 'unsafe-eval')
  }
})

t.test('CORS preflight allows the methods the API uses; HSTS when configured', async (t) => {
  const h = await makeApp(t, 'embedded', { corsOrigins: ['https://app.example'], hstsMaxAge: 31_536_000 })
  const preflight = await h.request({
    method: 'OPTIONS',
    url: '/api/v1/auth/users/1/',
    headers: {
      origin: 'https://app.example',
      'access-control-request-method': 'PATCH',
      'access-control-request-headers': 'authorization,content-type',
    },
  })
  t.equal(preflight.statusCode, 204)
  t.match(String(preflight.headers['access-control-allow-methods']), 'PATCH')
  t.equal(preflight.headers['access-control-allow-origin'], 'https://app.example')
  const live = await h.request({ method: 'GET', url: '/health/live' })
  t.equal(live.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains')
  const plain = await makeApp(t, 'embedded')
  const noHsts = await plain.request({ method: 'GET', url: '/health/live' })
  t.equal(noHsts.headers['strict-transport-security'], undefined, 'off by default')
})
