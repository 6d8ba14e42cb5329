import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { loadConfig } from '../src/config.js'
import { readConfig } from '../src/config/index.js'
import { keyEncryptionKeyOf, withDevelopmentKeys } from '../src/keys/development.js'

const PROD = {
  NODE_ENV: 'production',
  PUBLIC_URL: 'https://auth.example.com',
  DATABASE_URL: 'postgres://db.internal/auth',
  REDIS_URL: 'redis://cache.internal:6379',
  KEY_ENCRYPTION_KEY: 'e'.repeat(32),
  SIGNING_KEY: 'k'.repeat(32),
}

async function emptyDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'authjwt-config-reads-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

t.test('reading the configuration writes nothing: a missing key is left for keys/ to make', async (t) => {
  const dir = await emptyDir(t)
  const hmac = readConfig({ DATA_DIR: dir })
  t.equal(hmac.signingKey, '', 'no HMAC key configured: none is made while reading')
  const pair = readConfig({ DATA_DIR: dir, JWT_ALGORITHM: 'EdDSA' })
  t.equal(pair.privateKey, undefined, 'no private key configured: none is made while reading')
  t.same(await readdir(dir), [], 'DATA_DIR is untouched')
})

t.test('outside production keys/ makes the missing keys once, into DATA_DIR', async (t) => {
  const dir = await emptyDir(t)
  const made = withDevelopmentKeys(readConfig({ DATA_DIR: dir }))
  t.ok(made.signingKey.length >= 32, 'an HMAC key is made')
  t.equal((await readFile(join(dir, 'signing-key'), 'utf8')).trim(), made.signingKey, 'and kept')
  t.equal(loadConfig({ DATA_DIR: dir }).signingKey, made.signingKey, 'loadConfig finds the same key')
  const pair = withDevelopmentKeys(readConfig({ DATA_DIR: dir, JWT_ALGORITHM: 'EdDSA' }))
  t.match(pair.privateKey, /^-----BEGIN PRIVATE KEY-----/, 'a key pair is made for EdDSA')
  t.equal(pair.signingKey, '', 'and no HMAC key beside it')
  t.same((await readdir(dir)).sort(), ['signing-key', 'signing-key-eddsa.pem'])
  const kek = keyEncryptionKeyOf(made)
  t.ok(kek && kek.length >= 32, 'the key-encryption key is made when first asked for')
  t.equal(keyEncryptionKeyOf(made), kek, 'and the same one the next time')
})

t.test('in production nothing is generated or written', async (t) => {
  const dir = await emptyDir(t)
  const config = readConfig({ ...PROD, DATA_DIR: dir })
  t.equal(withDevelopmentKeys(config).signingKey, PROD.SIGNING_KEY, 'the configured key, as given')
  t.equal(keyEncryptionKeyOf({ ...config, keyEncryptionKey: undefined }), undefined, 'no key made up')
  t.same(await readdir(dir), [], 'DATA_DIR is untouched')
})
