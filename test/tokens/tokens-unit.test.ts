import t from 'tap'
import { buildClaims, checkClaims, isUserId } from '../../src/tokens/claims.js'
import { issuedAtMs, jtiIssuedAtMs, newJti } from '../../src/tokens/jti.js'

t.test('newJti: 32 lowercase hex chars that carry their issue time', async (t) => {
  const seen = new Set<string>()
  for (let i = 0; i < 1000; i++) {
    const jti = newJti()
    t.match(jti, /^[0-9a-f]{32}$/)
    seen.add(jti)
  }
  t.equal(seen.size, 1000, 'no duplicates')
  const at = Date.UTC(2024, 0, 15, 12, 30, 0, 123)
  const jti = newJti(at)
  t.equal(jtiIssuedAtMs(jti), at, 'the millisecond survives the round trip')
  t.equal(jti[12], '7', 'UUIDv7 version nibble')
  t.ok('89ab'.includes(jti[16]!), 'RFC 4122 variant nibble')
  t.ok(newJti(at + 1) > newJti(at), 'later jtis sort after earlier ones')
})

t.test('jtiIssuedAtMs: undefined for a jti of another shape', async (t) => {
  t.equal(jtiIssuedAtMs('b5acf6b876584fb88b3c379a71d0ec42'), undefined, 'a SimpleJWT uuid4().hex')
  t.equal(jtiIssuedAtMs('short'), undefined)
  t.equal(jtiIssuedAtMs(''), undefined)
  t.equal(jtiIssuedAtMs(`${'z'.repeat(12)}7${'0'.repeat(19)}`), undefined, 'not hex')
})

t.test('issuedAtMs prefers the jti clock, then iat', async (t) => {
  const at = 1_700_000_000_456
  t.equal(issuedAtMs({ jti: newJti(at), iat: 1 }), at)
  t.equal(issuedAtMs({ jti: 'b5acf6b876584fb88b3c379a71d0ec42', iat: 1_700_000_000 }), 1_700_000_000_000)
  t.equal(issuedAtMs({ jti: 'x' }), 0)
})

t.test('buildClaims: SimpleJWT order, lifetimes, optional sid and tenant', async (t) => {
  const now = 1_700_000_000_999
  const c = buildClaims('access', 900, { user_id: 7, sid: 3, client_id: 5 }, now)
  t.same(Object.keys(c), ['token_type', 'exp', 'iat', 'jti', 'user_id', 'sid', 'client_id'])
  t.equal(c.iat, 1_700_000_000)
  t.equal(c.exp - c.iat, 900)
  t.equal(jtiIssuedAtMs(c.jti), now)
  const bare = buildClaims('refresh', 60, { user_id: 1, client_id: null }, now)
  t.same(Object.keys(bare), ['token_type', 'exp', 'iat', 'jti', 'user_id'])
  const copied = buildClaims('access', 900, { user_id: 1, iat: 5 }, now)
  t.equal(copied.iat, 5, 'a given iat is kept (refreshed access copies the refresh iat)')
  t.equal(copied.exp, 1_700_000_000 + 900, 'exp still counts from now')
})

t.test('checkClaims: the checks SimpleJWT makes after the signature', async (t) => {
  const now = 1_700_000_000
  const ok = { token_type: 'access', exp: now + 10, iat: now, jti: 'j', user_id: 1 }
  t.same(checkClaims(ok, now), { ok: true, claims: ok })
  t.same(checkClaims({ ...ok, exp: undefined }, now), { ok: false, message: "Token has no 'exp' claim" })
  t.same(checkClaims({ ...ok, exp: '9' }, now), { ok: false, message: "Token has no 'exp' claim" })
  t.same(checkClaims({ ...ok, iat: now + 60 }, now), { ok: false, message: 'Token is invalid or expired' })
  t.same(checkClaims({ ...ok, jti: undefined }, now), { ok: false, message: 'Token has no id' })
  t.same(checkClaims({ ...ok, jti: '' }, now), { ok: false, message: 'Token has no id' })
  t.same(checkClaims({ ...ok, sid: 1.5 }, now), { ok: false, message: 'Token is invalid or expired' })
  t.same(checkClaims({ ...ok, sid: '1' }, now), { ok: false, message: 'Token is invalid or expired' })
  t.equal(
    checkClaims({ ...ok, token_type: undefined }, now).ok,
    true,
    'no token_type is the caller’s concern',
  )
})

t.test('isUserId: positive integers within the database integer range only', async (t) => {
  for (const v of [1, 42, 2 ** 31 - 1]) t.ok(isUserId(v), String(v))
  for (const v of [
    0,
    -1,
    1.5,
    '1',
    null,
    undefined,
    Number.NaN,
    2 ** 31,
    Number.MAX_SAFE_INTEGER,
    2 ** 60,
    true,
  ])
    t.notOk(isUserId(v), String(v))
})
