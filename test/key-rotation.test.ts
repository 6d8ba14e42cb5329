import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { buildApp } from '../src/app.js'
import { createRepositories } from '../src/repositories.js'
import { openDatabase } from '../src/database/database.js'
import { PasswordHasher } from '../src/accounts/passwords.js'
import { generatePrivateKey } from '../src/keys/material.js'
import {
  freshPostgres,
  freshRedisStore,
  probeRealServers,
  REDIS_URL,
  testConfig,
} from './helpers/backends.js'
import { childEnv, root, tsx } from './helpers/server-process.js'
import { decodeJwt } from './helpers/tokens.js'

t.setTimeout(180_000)

const ENCRYPTION_KEY = 'rotation-test-key-encryption-key-32b'

/**
 * Two instances on one PostgreSQL and one Redis serve traffic while an operator runs `rotate-key`
 * from a third process: the new key reaches both without a restart, no request fails, and no
 * token is refused for the key it names, old or new.
 */
t.test('rotate-key while two instances serve traffic', async (t) => {
  const { pg, redis } = await probeRealServers()
  if (pg || redis) {
    t.fail(`the rotation test needs PostgreSQL and Redis: ${[pg, redis].filter(Boolean).join('; ')}`)
    return
  }
  const { url, database } = await freshPostgres(t)
  await database.migrate()
  const prefix = `t:${randomBytes(6).toString('hex')}:`
  const config = testConfig({
    jwtAlgorithm: 'ES256',
    privateKey: generatePrivateKey('ES256'),
    signingKey: '',
    keyEncryptionKey: ENCRYPTION_KEY,
    keysPollSeconds: 1,
    loginAccountRateLimit: 1_000_000,
  })
  const open = async (): Promise<FastifyInstance> => {
    const db = await openDatabase({ url, poolSize: 3 })
    t.teardown(() => db.close())
    const app = await buildApp(config, {
      database: db,
      store: await freshRedisStore(t, prefix),
      logger: false,
    })
    await app.ready()
    t.teardown(() => app.close())
    return app
  }
  const instances = [await open(), await open()] as const
  const password = 'rotation-pw'
  const user = await createRepositories(database.db).users.create({
    username: `rot_${randomBytes(3).toString('hex')}`,
    email: `rot_${randomBytes(3).toString('hex')}@example.com`,
    passwordHash: await new PasswordHasher(config.argon2).hash(password),
  })

  const failures: string[] = []
  const kidsAccepted = new Set<string>()
  let round = 0
  const cycle = async () => {
    // Login on one instance, use and refresh on the other, use the new access token on the first.
    const [a, b] = round++ % 2 ? instances : [instances[1], instances[0]]
    const login = await a.inject({
      method: 'POST',
      url: '/api/token/',
      payload: { username: user.username, password },
    })
    if (login.statusCode !== 200) return void failures.push(`login ${login.statusCode}`)
    const { access, refresh } = login.json()
    const me = await b.inject({
      method: 'GET',
      url: '/api/user/',
      headers: { authorization: `Bearer ${access}` },
    })
    if (me.statusCode !== 200)
      return void failures.push(`me on the other instance ${me.statusCode} ${me.body}`)
    kidsAccepted.add(String(decodeJwt(access).header.kid))
    const renewed = await b.inject({ method: 'POST', url: '/api/token/refresh/', payload: { refresh } })
    if (renewed.statusCode !== 200) return void failures.push(`refresh ${renewed.statusCode} ${renewed.body}`)
    const again = await a.inject({
      method: 'GET',
      url: '/api/user/',
      headers: { authorization: `Bearer ${renewed.json().access}` },
    })
    if (again.statusCode !== 200)
      return void failures.push(`renewed access ${again.statusCode} ${again.body}`)
    kidsAccepted.add(String(decodeJwt(renewed.json().access).header.kid))
  }

  const before = await instances[0].inject({
    method: 'POST',
    url: '/api/token/',
    payload: { username: user.username, password },
  })
  const oldKid = decodeJwt(before.json().access).header.kid
  let rotating = true
  const traffic = (async () => {
    while (rotating) await Promise.all([cycle(), cycle(), cycle()])
  })()
  const rotation = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      tsx,
      ['src/cli.ts', 'rotate-key'],
      {
        cwd: root,
        timeout: 60_000,
        env: childEnv({
          DATABASE_URL: url,
          REDIS_URL,
          REDIS_PREFIX: prefix,
          JWT_ALGORITHM: 'ES256',
          KEY_ENCRYPTION_KEY: ENCRYPTION_KEY,
          KEYS_POLL_SECONDS: '1',
        }),
      },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code) || 1 : 0, stdout, stderr }),
    )
  })
  t.equal(rotation.code, 0, `rotate-key succeeds ${rotation.stderr}`)
  const newKid = /New ES256 key (\S+)/.exec(rotation.stdout)?.[1]
  t.ok(newKid, `it names the new key: ${rotation.stdout}`)
  // It signs after twice KEYS_POLL_SECONDS: keep the traffic going until well after.
  await new Promise((resolve) => setTimeout(resolve, 4000))
  rotating = false
  await traffic

  t.same(failures, [], `no request failed in ${round} rounds`)
  t.ok(
    kidsAccepted.has(String(oldKid)) && kidsAccepted.has(String(newKid)),
    'tokens of both keys were accepted',
  )
  for (const app of instances) {
    const login = await app.inject({
      method: 'POST',
      url: '/api/token/',
      payload: { username: user.username, password },
    })
    t.equal(
      decodeJwt(login.json().access).header.kid,
      newKid,
      'each instance now signs with the new key, unrestarted',
    )
    const old = await app.inject({
      method: 'GET',
      url: '/api/user/',
      headers: { authorization: `Bearer ${before.json().access}` },
    })
    t.equal(old.statusCode, 200, 'a token of the old key still works on each')
    const jwks = (await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json()
    t.same(
      jwks.keys.map((k: { kid: string }) => k.kid).sort(),
      [oldKid, newKid].sort(),
      'each publishes both keys',
    )
  }
})
