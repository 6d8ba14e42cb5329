import Fastify from 'fastify'
import t, { type Test } from 'tap'
import authjwt from '../../src/kit/fastify.js'
import { generatePrivateKey } from '../../src/keys/material.js'
import { keys as storeKeys } from '../../src/revocation/store.js'
import type { RedisRevocationStore } from '../../src/revocation/redis-store.js'
import { makeApp, probeRealServers, REDIS_URL } from '../helpers/backends.js'
import { rotateKeyNow } from '../helpers/keys.js'
import { accessClaims, craftToken } from '../helpers/tokens.js'

/** Our service, listening on a port of its own, signing with `alg`. */
async function ours(t: Test, backend: 'real' | 'embedded', alg: 'ES256' | 'EdDSA' | 'RS256') {
  const app = await makeApp(t, backend, {
    jwtAlgorithm: alg,
    privateKey: generatePrivateKey(alg),
    signingKey: '',
    keyEncryptionKey: 'a-key-encryption-key-of-32-bytes-or-more',
  })
  const base = await app.app.listen({ port: 0, host: '127.0.0.1' })
  return { app, base }
}

/** Their service: a second Fastify app with the kit and one protected route. */
async function theirs(t: Test, options: Parameters<typeof authjwt>[1]) {
  const app = Fastify()
  await app.register(authjwt, options)
  app.get('/orders', { config: { authjwt: true } }, async (request) => ({ user: request.principal?.user_id }))
  app.get('/public', async () => ({ ok: true }))
  await app.ready()
  t.teardown(() => app.close())
  return (authorization?: string, url = '/orders') =>
    app.inject({ method: 'GET', url, headers: authorization ? { authorization } : {} })
}

t.test(
  'the resource-server kit: local verification, and our logout holds there at the next request',
  async (t) => {
    // The embedded store lives in our process, out of a second service's reach: the next test covers that mode.
    const { pg, redis } = await probeRealServers()
    if (pg || redis) {
      t.fail(
        `the kit's revocation check needs PostgreSQL and Redis: ${[pg, redis].filter(Boolean).join('; ')}`,
      )
      return
    }
    const { app, base } = await ours(t, 'real', 'ES256')
    const prefix = (app.store as RedisRevocationStore).prefix
    const get = await theirs(t, {
      jwksUrl: `${base}/.well-known/jwks.json`,
      redisUrl: REDIS_URL,
      redisPrefix: prefix,
    })
    const user = await app.createUser()
    const { access, refresh } = await app.login(user.username, user.password)

    const ok = await get(`Bearer ${access}`)
    t.equal(ok.statusCode, 200, 'our token opens their route')
    t.same(ok.json(), { user: user.id }, 'with our claims')
    t.equal((await get(undefined, '/public')).statusCode, 200, 'routes without config.authjwt stay open')

    for (const [name, header] of [
      ['no header', undefined],
      ['Bearer alone', 'Bearer'],
      ['a forged HMAC token', `Bearer ${craftToken(accessClaims(user.id), 'guess')}`],
      ['a tampered token', `Bearer ${access.slice(0, -4)}AAAA`],
    ] as const) {
      const here = await app.request({
        method: 'GET',
        url: '/api/v1/auth/users/me/',
        headers: header ? { authorization: header } : {},
      })
      const there = await get(header)
      t.equal(there.statusCode, 401, `${name}: 401`)
      t.same(there.json(), here.json(), `${name}: the same body as our service answers`)
    }

    const logout = await app.request({
      method: 'POST',
      url: '/api/v1/auth/logout/',
      headers: app.bearer(access),
      payload: { refresh },
    })
    t.equal(logout.statusCode, 200, 'logout on ours')
    const after = await get(`Bearer ${access}`)
    t.equal(after.statusCode, 401, 'refused on theirs at the next request')
    t.equal(after.json().code, 'token_revoked')

    const second = await app.login(user.username, user.password)
    await rotateKeyNow(app)
    const third = await app.login(user.username, user.password)
    t.equal(
      (await get(`Bearer ${third.access}`)).statusCode,
      200,
      'a key published since the kit fetched: fetched at once',
    )
    t.equal((await get(`Bearer ${second.access}`)).statusCode, 200, 'and the previous key still verifies')

    await (app.store as RedisRevocationStore).client.del(storeKeys.complete(prefix))
    const lost = await get(`Bearer ${third.access}`)
    t.equal(lost.statusCode, 503, 'a Redis that lost the deny-list is not trusted: fail closed')
    t.equal(lost.json().code, 'service_unavailable')
  },
)

t.test('the kit without Redis verifies locally; it never accepts a key it cannot pin', async (t) => {
  const { app, base } = await ours(t, 'embedded', 'EdDSA')
  const user = await app.createUser()
  const { access } = await app.login(user.username, user.password)
  const get = await theirs(t, { jwksUrl: `${base}/.well-known/jwks.json`, redisUrl: false })
  t.equal((await get(`Bearer ${access}`)).statusCode, 200)
  const hmacJwks = Fastify()
  const published = (await (await fetch(`${base}/.well-known/jwks.json`)).json()) as { keys: unknown[] }
  hmacJwks.get('/jwks', async () => ({
    keys: [
      ...published.keys,
      { kty: 'oct', k: Buffer.from('guess').toString('base64url'), kid: 'x', alg: 'HS256' },
    ],
  }))
  const hmacBase = await hmacJwks.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => hmacJwks.close())
  const fooled = await theirs(t, { jwksUrl: `${hmacBase}/jwks`, redisUrl: false })
  const forged = craftToken(accessClaims(user.id, { sid: 1 }), 'guess', {
    alg: 'HS256',
    typ: 'JWT',
    kid: 'x',
  })
  t.equal((await fooled(`Bearer ${forged}`)).statusCode, 401, 'an HMAC key in a key set verifies nothing')
  await t.rejects(
    (async () => {
      const app = Fastify()
      t.teardown(() => app.close())
      await app.register(authjwt, { jwksUrl: `${base}/.well-known/jwks.json` } as never)
      await app.ready()
    })(),
    { message: /give redisUrl/ },
    'revocation is never off by omission',
  )
})

t.test(
  'against a service that signs with a shared secret, the kit refuses to start, in one sentence',
  async (t) => {
    const hmac = await makeApp(t, 'embedded')
    const base = await hmac.app.listen({ port: 0, host: '127.0.0.1' })
    const jwks = await (await fetch(`${base}/.well-known/jwks.json`)).json()
    t.same(jwks, { keys: [] }, 'an HMAC service publishes no key')
    const onlyHmac = Fastify()
    onlyHmac.get('/jwks', async () => ({ keys: [{ kty: 'oct', k: 'Z3Vlc3M', kid: 'x', alg: 'HS256' }] }))
    const onlyHmacBase = await onlyHmac.listen({ port: 0, host: '127.0.0.1' })
    t.teardown(() => onlyHmac.close())

    for (const jwksUrl of [`${base}/.well-known/jwks.json`, `${onlyHmacBase}/jwks`]) {
      const app = Fastify()
      t.teardown(() => app.close())
      const refused = await app
        .register(authjwt, { jwksUrl, redisUrl: false })
        .ready()
        .then(
          () => undefined,
          (err: Error) => err.message,
        )
      t.match(
        refused,
        /^authjwt: .* publishes no public key .*shared secret.*key pair/,
        `${jwksUrl}: refused`,
      )
      t.notMatch(refused ?? '', /\n/, 'in one line')
      t.ok(refused?.includes(jwksUrl), 'naming the key set')
    }
  },
)
