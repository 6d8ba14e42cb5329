import { createSigner } from 'fast-jwt'
import t from 'tap'
import { KeyVerifiers } from '../../src/keys/verifiers.js'

/**
 * KeyVerifiers remembers the tokens each key verified, by their exact text: a token seen before
 * skips its signature, but never its exp or nbf, never a spelling of its signature other than the
 * canonical one, and never a key that is no longer in the set.
 */
const KEY = 'verifiers-test-key-0123456789abcdef-0123456789'
const sign = (payload: Record<string, unknown>, key = KEY) =>
  createSigner({ key, algorithm: 'HS256' })(payload) as string
const nowS = () => Math.floor(Date.now() / 1000)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

t.test('a remembered token is refused once its exp passes', async (t) => {
  const v = new KeyVerifiers()
  v.set([{ kid: undefined, alg: 'HS256', key: KEY }])
  const token = sign({ user_id: 1, exp: nowS() + 1 })
  t.equal(v.verify(token).user_id, 1)
  t.equal(v.verify(token).user_id, 1, 'again, from memory')
  await sleep(Math.ceil((nowS() + 1) * 1000 - Date.now()) + 50)
  t.throws(() => v.verify(token), 'expired: refused although remembered')
})

t.test('a remembered token with an nbf still in the future is refused', async (t) => {
  const v = new KeyVerifiers()
  v.set([{ kid: undefined, alg: 'HS256', key: KEY }])
  t.throws(() => v.verify(sign({ nbf: nowS() + 60, exp: nowS() + 120 })), 'not yet valid')
})

t.test('another spelling of a remembered signature is refused', async (t) => {
  const v = new KeyVerifiers()
  v.set([{ kid: undefined, alg: 'HS256', key: KEY }])
  const token = sign({ user_id: 2, exp: nowS() + 60 })
  t.equal(v.verify(token).user_id, 2)
  // The last base64url character of a 32-byte signature carries 2 unused bits.
  const last = token.at(-1)!
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const other = alphabet[alphabet.indexOf(last) ^ 1]!
  t.throws(() => v.verify(token.slice(0, -1) + other), 'same bytes, another text: refused')
})

t.test('a remembered token is refused once its key leaves the set', async (t) => {
  const v = new KeyVerifiers()
  v.set([{ kid: 'a', alg: 'HS256', key: KEY }])
  const token = createSigner({ key: KEY, algorithm: 'HS256', kid: 'a' })({
    user_id: 3,
    exp: nowS() + 60,
  }) as string
  t.equal(v.verify(token).user_id, 3)
  v.set([{ kid: 'a', alg: 'HS256', key: `${KEY}-rotated` }])
  t.throws(() => v.verify(token), 'kid a now names another key')
  v.set([{ kid: 'b', alg: 'HS256', key: KEY }])
  t.throws(() => v.verify(token), 'kid a is gone')
})

t.test('a forged token is refused, however often it is presented', async (t) => {
  const v = new KeyVerifiers()
  v.set([{ kid: undefined, alg: 'HS256', key: KEY }])
  const forged = sign({ user_id: 4, exp: nowS() + 60 }, 'another-key-0123456789abcdef-0123456789')
  for (let i = 0; i < 3; i++) t.throws(() => v.verify(forged))
})
