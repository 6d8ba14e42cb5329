import t from 'tap'
import {
  decodeUserState,
  encodeUserState,
  type RevocationLookup,
  revocationVerdict,
} from '../../src/revocation/verdict.js'
import { newJti } from '../../src/tokens/jti.js'

const NOW = 1_700_000_000_000
const clear: RevocationLookup = { jtiDenied: false, sessionDenied: false, user: null, globalValidAfter: null }
const user = (validAfterMs: number, status: '' | 'inactive' | 'deleted' = '', expiresAtMs = 0) =>
  encodeUserState({ validAfterMs, status, expiresAtMs })

t.test('user state round trip', async (t) => {
  const s = { validAfterMs: 123, status: 'inactive' as const, expiresAtMs: 456 }
  t.same(decodeUserState(encodeUserState(s)), s)
  t.equal(decodeUserState(null), undefined)
  t.equal(decodeUserState(''), undefined)
  t.same(decodeUserState('x|weird|y'), { validAfterMs: 0, status: '', expiresAtMs: 0 }, 'garbage is harmless')
})

t.test('revocationVerdict', async (t) => {
  const token = { jti: newJti(NOW - 1000), iat: Math.floor((NOW - 1000) / 1000) }
  const cases: [string, Partial<RevocationLookup>, ReturnType<typeof revocationVerdict>][] = [
    ['nothing known', {}, undefined],
    ['jti denied', { jtiDenied: true }, 'token_revoked'],
    ['session denied', { sessionDenied: true }, 'token_revoked'],
    ['user logged out everywhere after issue', { user: user(NOW - 500) }, 'token_revoked'],
    ['user mark before issue', { user: user(NOW - 2000) }, undefined],
    ['user mark at the very issue ms', { user: user(NOW - 1000) }, 'token_revoked'],
    ['deactivated after issue', { user: user(NOW - 500, 'inactive') }, 'user_inactive'],
    ['deleted after issue', { user: user(NOW - 500, 'deleted') }, 'user_not_found'],
    ['reactivated: inactive mark before issue', { user: user(NOW - 2000, 'inactive') }, undefined],
    ['account expired', { user: user(0, '', NOW - 1) }, 'account_expired'],
    ['expiry in the future', { user: user(0, '', NOW + 60_000) }, undefined],
    ['expired wins over a denied jti', { user: user(0, '', NOW), jtiDenied: true }, 'account_expired'],
    [
      'inactive wins over a denied session',
      { user: user(NOW, 'inactive'), sessionDenied: true },
      'user_inactive',
    ],
    ['global invalidation after issue', { globalValidAfter: String(NOW - 10) }, 'token_revoked'],
    ['global invalidation before issue', { globalValidAfter: String(NOW - 5000) }, undefined],
  ]
  for (const [name, found, expected] of cases) {
    t.equal(revocationVerdict(token, { ...clear, ...found }, NOW), expected, name)
  }
})

t.test('a login in the same second as a logout-everywhere survives (ms precision of the jti)', async (t) => {
  const second = Math.floor(NOW / 1000) * 1000
  const mark = second + 400
  const before = { jti: newJti(second + 100), iat: second / 1000 }
  const after = { jti: newJti(second + 700), iat: second / 1000 }
  t.equal(revocationVerdict(before, { ...clear, user: user(mark) }, NOW), 'token_revoked')
  t.equal(revocationVerdict(after, { ...clear, user: user(mark) }, NOW), undefined)
  t.equal(revocationVerdict(after, { ...clear, globalValidAfter: String(mark) }, NOW), undefined)
})

t.test('a foreign jti falls back to iat (whole seconds)', async (t) => {
  const foreign = { jti: 'b5acf6b876584fb88b3c379a71d0ec42', iat: 1_700_000_000 }
  t.equal(revocationVerdict(foreign, { ...clear, user: user(1_700_000_000_000) }, NOW), 'token_revoked')
  t.equal(revocationVerdict(foreign, { ...clear, user: user(1_699_999_999_999) }, NOW), undefined)
  t.equal(
    revocationVerdict({ jti: 'x' }, { ...clear, globalValidAfter: '0' }, NOW),
    'token_revoked',
    'no iat: oldest',
  )
})
