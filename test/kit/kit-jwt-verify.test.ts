import { fastifyJwt } from '@fastify/jwt'
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import authjwt from '../../src/kit/fastify.js'
import { generatePrivateKey } from '../../src/keys/material.js'
import { keys as storeKeys } from '../../src/revocation/store.js'
import type { RedisRevocationStore } from '../../src/revocation/redis-store.js'
import { makeApp, probeRealServers, REDIS_URL } from '../helpers/backends.js'
import { rotateKeyNow } from '../helpers/keys.js'
import { accessClaims, craftToken, decodeJwt } from '../helpers/tokens.js'

/**
 * The kit registers @fastify/jwt on the team's app: a route written as for @fastify/jwt alone
 * (`await request.jwtVerify()`, then `request.user`) verifies our access tokens with our published
 * keys and refuses what the kit's own check refuses, a revoked token included.
 */
async function ours(t: Test, backend: 'real' | 'embedded') {
  const app = await makeApp(t, backend, {
    jwtAlgorithm: 'ES256',
    privateKey: generatePrivateKey('ES256'),
    signingKey: '',
    keyEncryptionKey: 'a-key-encryption-key-of-32-bytes-or-more',
  })
  const base = await app.app.listen({ port: 0, host: '127.0.0.1' })
  return { app, base }
}

/** Their app: `/me` checks the token itself with request.jwtVerify(), `/orders` asks for the kit's check. */
async function theirs(t: Test, options: Parameters<typeof authjwt>[1]) {
  const app = Fastify()
  await app.register(authjwt, options)
  app.get('/me', async (request) => {
    await request.jwtVerify()
    return { user: request.user.user_id }
  })
  app.get('/orders', { config: { authjwt: true } }, async (request) => ({ user: request.user.user_id }))
  await app.ready()
  t.teardown(() => app.close())
  return (authorization: string | undefined, url = '/me') =>
    app.inject({ method: 'GET', url, headers: authorization ? { authorization } : {} })
}

t.test('request.jwtVerify() and request.user on the team app, with our revocation', async (t) => {
  const { pg, redis } = await probeRealServers()
  if (pg || redis) {
    t.fail(`the kit's revocation check needs PostgreSQL and Redis: ${[pg, redis].filter(Boolean).join('; ')}`)
    return
  }
  const { app, base } = await ours(t, 'real')
  const prefix = (app.store as RedisRevocationStore).prefix
  const get = await theirs(t, {
    jwksUrl: `${base}/.well-known/jwks.json`,
    redisUrl: REDIS_URL,
    redisPrefix: prefix,
  })
  const user = await app.createUser()
  const { access, refresh } = await app.login(user.username, user.password)

  const me = await get(`Bearer ${access}`)
  t.equal(me.statusCode, 200, 'our access token passes request.jwtVerify()')
  t.same(me.json(), { user: user.id }, 'request.user holds its claims')
  t.same(
    (await get(`Bearer ${access}`, '/orders')).json(),
    { user: user.id },
    'the kit’s check sets request.user too',
  )

  const kid = decodeJwt(access).header.kid
  const published = (await (await fetch(`${base}/.well-known/jwks.json`)).json()) as { keys: unknown[] }
  for (const [name, header] of [
    ['no header', undefined],
    ['a refresh token', `Bearer ${refresh}`],
    ['a tampered token', `Bearer ${access.slice(0, -4)}AAAA`],
    ['an HMAC token naming no key', `Bearer ${craftToken(accessClaims(user.id, { sid: 1 }), 'guess')}`],
    [
      'our kid with HS256 (the published key set as the secret)',
      `Bearer ${craftToken(accessClaims(user.id, { sid: 1 }), JSON.stringify(published), { alg: 'HS256', typ: 'JWT', kid })}`,
    ],
  ] as const) {
    const res = await get(header)
    t.equal(res.statusCode, 401, `${name}: 401`)
  }
  t.equal(
    (await get(`Bearer ${refresh}`)).json().code,
    'token_not_valid',
    'a refresh token: SimpleJWT’s code',
  )

  const second = await app.login(user.username, user.password)
  await rotateKeyNow(app)
  const third = await app.login(user.username, user.password)
  t.not(decodeJwt(third.access).header.kid, kid, 'signed with the new key')
  t.equal((await get(`Bearer ${third.access}`)).statusCode, 200, 'a key published since: fetched at once')
  t.equal((await get(`Bearer ${second.access}`)).statusCode, 200, 'the previous key still verifies')

  const logout = await app.request({
    method: 'POST',
    url: '/api/v1/auth/logout/',
    headers: app.bearer(access),
    payload: { refresh },
  })
  t.equal(logout.statusCode, 200, 'logout on ours')
  const after = await get(`Bearer ${access}`)
  t.equal(after.statusCode, 401, 'refused by request.jwtVerify() at the next request')
  t.equal(after.json().code, 'token_revoked')

  await (app.store as RedisRevocationStore).client.del(storeKeys.complete(prefix))
  const lost = await get(`Bearer ${third.access}`)
  t.equal(lost.statusCode, 503, 'a Redis that lost the deny-list is not trusted: fail closed')
})

t.test('request.jwtVerify() without revocation (redisUrl: false)', async (t) => {
  const { app, base } = await ours(t, 'embedded')
  const get = await theirs(t, { jwksUrl: `${base}/.well-known/jwks.json`, redisUrl: false })
  const user = await app.createUser()
  const { access, refresh } = await app.login(user.username, user.password)
  t.same((await get(`Bearer ${access}`)).json(), { user: user.id })
  t.equal((await get(`Bearer ${refresh}`)).statusCode, 401, 'a refresh token is no access token')
  t.equal((await get(`Bearer ${access}`, '/orders')).statusCode, 200)

  const twice = Fastify()
  t.teardown(() => twice.close())
  await twice.register(fastifyJwt, { secret: 'their-own-secret' })
  const refused = await twice
    .register(authjwt, { jwksUrl: `${base}/.well-known/jwks.json`, redisUrl: false })
    .ready()
    .then(
      () => undefined,
      (err: Error) => err.message,
    )
  t.match(
    refused,
    /^authjwt: @fastify\/jwt is registered on this app already/,
    'a second registration: one sentence',
  )
})
