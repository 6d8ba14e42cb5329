import { createPublicKey, verify } from 'node:crypto'
import t from 'tap'
import { timeline } from '../../src/keys/keyring.js'
import { generatePrivateKey } from '../../src/keys/material.js'
import { eachBackend, makeApp, type TestApp } from '../helpers/backends.js'
import { rotateKeyNow } from '../helpers/keys.js'
import { accessClaims, craftToken, decodeJwt } from '../helpers/tokens.js'

const KEY_PAIRS = ['RS256', 'ES256', 'EdDSA'] as const

async function jwks(app: TestApp) {
  const res = await app.request({ method: 'GET', url: '/.well-known/jwks.json' })
  return res.json().keys as Array<Record<string, string>>
}

/** Checks a token's signature against a published JWK with node:crypto alone, as any library would. */
function verifiesWith(token: string, jwk: Record<string, string>): boolean {
  const [header, payload, signature] = token.split('.') as [string, string, string]
  const key = createPublicKey({ key: jwk, format: 'jwk' })
  const data = Buffer.from(`${header}.${payload}`)
  const sig = Buffer.from(signature, 'base64url')
  if (jwk.alg === 'EdDSA') return verify(null, data, key, sig)
  if (jwk.alg === 'ES256') return verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig)
  return verify('sha256', data, key, sig)
}

async function me(app: TestApp, token: string) {
  return app.request({ method: 'GET', url: '/api/v1/auth/users/me/', headers: app.bearer(token) })
}

t.test('the default HMAC key writes SimpleJWT’s header, kid-less, byte for byte', async (t) => {
  const app = await makeApp(t, 'embedded')
  const user = await app.createUser()
  const { access, refresh } = await app.login(user.username, user.password)
  for (const token of [access, refresh]) {
    t.equal(Buffer.from(token.split('.')[0] as string, 'base64url').toString(), '{"alg":"HS256","typ":"JWT"}')
  }
})

t.test('RS256, ES256 and EdDSA: every token names its key, the JWKS publishes it', async (t) => {
  await eachBackend(t, async (t, backend) => {
    for (const alg of KEY_PAIRS) {
      const app = await makeApp(t, backend, {
        jwtAlgorithm: alg,
        privateKey: generatePrivateKey(alg),
        signingKey: '',
      })
      const user = await app.createUser()
      const { access, refresh } = await app.login(user.username, user.password)
      const { header } = decodeJwt(access)
      t.match(header, { alg, typ: 'JWT', kid: String }, `${alg}: the header names alg and kid`)
      const keys = await jwks(app)
      t.equal(keys.length, 1, `${alg}: one key published`)
      const [jwk] = keys as [Record<string, string>]
      t.match(jwk, { kid: header.kid, alg, use: 'sig' })
      t.notOk('d' in jwk, `${alg}: no private part is published`)
      t.ok(verifiesWith(access, jwk), `${alg}: the access token verifies with the published key alone`)
      t.ok(verifiesWith(refresh, jwk), `${alg}: and the refresh token`)
      t.equal((await me(app, access)).statusCode, 200, `${alg}: the access token is accepted`)
      const renewed = await app.request({ method: 'POST', url: '/api/token/refresh/', payload: { refresh } })
      t.equal(renewed.statusCode, 200, `${alg}: refresh works`)
      const doc = await app.request({ method: 'GET', url: '/.well-known/openid-configuration' })
      t.same(doc.json().token_signing_alg_values_supported, [alg])
    }
  })
})

t.test('a key pair mode refuses every token that tries to choose or carry its key', async (t) => {
  const alg = 'RS256'
  const app = await makeApp(t, 'embedded', {
    jwtAlgorithm: alg,
    privateKey: generatePrivateKey(alg),
    signingKey: '',
  })
  const user = await app.createUser()
  const { access, session_id } = await app.login(user.username, user.password)
  const ours = decodeJwt(access)
  const [jwk] = (await jwks(app)) as [Record<string, string>]
  const publicPem = createPublicKey({ key: jwk, format: 'jwk' })
    .export({ type: 'spki', format: 'pem' })
    .toString()
  const claims = accessClaims(user.id, { sid: session_id, jti: 'c'.repeat(32) })
  const attackerKey = generatePrivateKey('ES256')
  const attackerJwk = createPublicKey(attackerKey).export({ format: 'jwk' })
  const attempts: Array<[string, string]> = [
    [
      'HS256 signed with our public key as the secret',
      craftToken(claims, publicPem, { alg: 'HS256', typ: 'JWT', kid: ours.header.kid }),
    ],
    ['the same without a kid', craftToken(claims, publicPem, { alg: 'HS256', typ: 'JWT' })],
    ['alg none with our kid', craftToken(claims, '', { alg: 'none', typ: 'JWT', kid: ours.header.kid })],
    [
      'HS256 with the JWK text as the secret',
      craftToken(claims, JSON.stringify(jwk), { alg: 'HS256', kid: ours.header.kid }),
    ],
    ['kid path traversal', craftToken(claims, '', { alg: 'HS256', kid: '../../../../dev/null' })],
    ['kid SQL', craftToken(claims, 'x', { alg: 'HS256', kid: "' OR '1'='1" })],
    ['kid empty', craftToken(claims, 'x', { alg: 'HS256', kid: '' })],
    ['kid a number', craftToken(claims, 'x', { alg: 'HS256', kid: 7 })],
    [
      'our kid, ES256 in the header',
      `${part({ alg: 'ES256', typ: 'JWT', kid: ours.header.kid })}.${access.split('.').slice(1).join('.')}`,
    ],
    [
      'our signature, header with a jwk added',
      `${part({ ...ours.header, jwk })}.${access.split('.').slice(1).join('.')}`,
    ],
  ]
  const { createSigner } = await import('fast-jwt')
  for (const [field, value] of [
    ['jwk', attackerJwk],
    ['jku', 'http://127.0.0.1:9/jwks.json'],
    ['x5u', 'http://127.0.0.1:9/cert.pem'],
  ] as const) {
    // The attacker signs with a key of their own and points to it, under our kid or their own.
    for (const kid of [ours.header.kid as string, 'attacker']) {
      const sign = createSigner({
        key: attackerKey,
        algorithm: 'ES256',
        kid,
        header: { alg: 'ES256', [field]: value } as never,
      })
      attempts.push([`${field} injection, kid ${kid === 'attacker' ? 'their own' : 'ours'}`, sign(claims)])
    }
  }
  for (const [name, token] of attempts) {
    const res = await me(app, token)
    t.equal(res.statusCode, 401, `${name}: refused`)
    t.equal(res.json().code, 'token_not_valid', name)
  }
  t.equal((await me(app, access)).statusCode, 200, 'the real token still works')
})

function part(o: unknown): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url')
}

t.test(
  'a key pair with SIGNING_KEY set still verifies SimpleJWT’s HS256 tokens, and only those',
  async (t) => {
    const signingKey = 'django-secret-key-that-is-at-least-32-bytes'
    const app = await makeApp(t, 'embedded', {
      jwtAlgorithm: 'ES256',
      privateKey: generatePrivateKey('ES256'),
      signingKey,
      legacyTokensUntil: Date.now() + 3600_000,
    })
    const user = await app.createUser()
    t.equal(
      (await me(app, craftToken(accessClaims(user.id), signingKey))).statusCode,
      200,
      'a SimpleJWT token',
    )
    const hs512 = craftToken(accessClaims(user.id), signingKey, { alg: 'HS512', typ: 'JWT' })
    t.equal((await me(app, hs512)).statusCode, 401, 'the same key with another HMAC is refused')
    t.same(await jwks(app).then((keys) => keys.map((k) => k.alg)), ['ES256'], 'the secret is never published')
  },
)

t.test('rotate-key: the new key signs, the old one keeps verifying, nobody is logged out', async (t) => {
  await eachBackend(t, async (t, backend) => {
    for (const alg of ['HS256', 'EdDSA'] as const) {
      const keyPair = alg !== 'HS256'
      const app = await makeApp(t, backend, {
        jwtAlgorithm: alg,
        ...(keyPair && { privateKey: generatePrivateKey(alg), signingKey: '' }),
        keyEncryptionKey: 'a-key-encryption-key-of-32-bytes-or-more',
      })
      const user = await app.createUser()
      const before = await app.login(user.username, user.password)
      const printed = await rotateKeyNow(app)
      t.match(
        printed[0],
        new RegExp(
          `^New ${alg} key \\S+ \\(test\\): in this server's key set \\(JWKS\\) now, ` +
            "in every other instance's within \\d+ s \\(KEYS_POLL_SECONDS\\); signs from",
        ),
        'says when the other instances have it, not "published now"',
      )
      const after = await app.login(user.username, user.password)
      const oldKid = decodeJwt(before.access).header.kid
      const newKid = decodeJwt(after.access).header.kid
      t.ok(typeof newKid === 'string' && newKid !== oldKid, `${alg}: new tokens name the new key`)
      t.equal((await me(app, before.access)).statusCode, 200, `${alg}: a token of the old key still works`)
      t.equal((await me(app, after.access)).statusCode, 200, `${alg}: and one of the new key`)
      const renewed = await app.request({
        method: 'POST',
        url: '/api/token/refresh/',
        payload: { refresh: before.refresh },
      })
      t.equal(renewed.statusCode, 200, `${alg}: an old refresh token refreshes`)
      t.equal(decodeJwt(renewed.json().access).header.kid, newKid, `${alg}: into tokens of the new key`)
      const kids = (await jwks(app)).map((k) => k.kid)
      t.same(
        kids,
        keyPair ? [oldKid, newKid] : [],
        `${alg}: the JWKS publishes both public keys (none for HMAC)`,
      )
      const rows = await app.app.repos.signingKeys.load(app.config.keyEncryptionKey)
      t.equal(rows.length, 1, 'the new key is stored')
      t.ok(
        !JSON.stringify(await rawRows(app)).includes(rows[0]?.secret.slice(40, 80) ?? '-'),
        'sealed: the secret is not in the table',
      )
      await t.rejects(app.app.repos.signingKeys.load('another-key-of-at-least-thirty-two-bytes'), {
        message: /KEY_ENCRYPTION_KEY: it does not open signing key/,
      })
      await t.rejects(app.app.repos.signingKeys.load(undefined), { message: /KEY_ENCRYPTION_KEY: required/ })
    }
  })
})

async function rawRows(app: TestApp): Promise<unknown> {
  const { signingKeys } = await import('../../schema/db.js')
  return app.database.db.select().from(signingKeys)
}

t.test('timeline: who signs, who verifies, and when a replaced key drops out', async (t) => {
  const day = 86_400_000
  const keys = [
    { id: 'config', signsFromMs: Number.NEGATIVE_INFINITY },
    { id: 'k1', signsFromMs: 10 * day },
    { id: 'k2', signsFromMs: 20 * day },
  ]
  const at = (now: number) => {
    const { signer, live, nextChangeMs } = timeline(keys, 7 * day, now)
    return { signer: signer?.id, live: live.map((k) => k.id), nextChangeMs }
  }
  t.same(at(5 * day), { signer: 'config', live: ['config', 'k1', 'k2'], nextChangeMs: 10 * day })
  t.same(at(16 * day), { signer: 'k1', live: ['config', 'k1', 'k2'], nextChangeMs: 17 * day })
  t.same(
    at(17 * day + 1),
    { signer: 'k1', live: ['k1', 'k2'], nextChangeMs: 20 * day },
    'config drops 7 days after k1 took over',
  )
  t.same(at(30 * day), { signer: 'k2', live: ['k2'], nextChangeMs: Number.POSITIVE_INFINITY })
  const legacy = [
    { id: 'config', signsFromMs: Number.NEGATIVE_INFINITY, verifiesUntilAtLeastMs: 40 * day },
    keys[2] as (typeof keys)[0],
  ]
  t.same(
    timeline(legacy, 7 * day, 35 * day).live.map((k) => k.id),
    ['config', 'k2'],
    'LEGACY_TOKENS_UNTIL keeps it longer',
  )
})
