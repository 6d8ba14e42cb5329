import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ServerConfig } from '../config/server.js'
import { isKeyPairAlgorithm, type KeyPairAlgorithm, type TokensConfig } from '../config/tokens.js'
import { generatePrivateKey } from './material.js'

type Where = Pick<ServerConfig, 'env' | 'dataDir'>

/**
 * Outside production a key nobody configured is generated once and kept in the data folder
 * (DATA_DIR/signing-key, or signing-key-<alg>.pem for a key pair), so tokens survive restarts.
 * Production never gets here without its keys: src/config/tokens.ts requires them.
 */
export function withDevelopmentKeys<C extends TokensConfig & Where>(config: C): C {
  if (config.env === 'production') return config
  if (!isKeyPairAlgorithm(config.jwtAlgorithm)) {
    if (config.signingKey) return config
    return { ...config, signingKey: developmentSecret(config.dataDir, 'signing-key') }
  }
  if (config.privateKey) return config
  const alg = config.jwtAlgorithm
  const privateKey = keptInDataDir(config.dataDir, `signing-key-${alg.toLowerCase()}.pem`, () =>
    generatePrivateKey(alg as KeyPairAlgorithm),
  )
  return { ...config, privateKey }
}

/** The KEY_ENCRYPTION_KEY, generated into the data folder outside production when first needed. */
export function keyEncryptionKeyOf(
  config: Pick<TokensConfig, 'keyEncryptionKey'> & Where,
): string | undefined {
  if (config.keyEncryptionKey || config.env === 'production') return config.keyEncryptionKey
  return developmentSecret(config.dataDir, 'key-encryption-key')
}

function developmentSecret(dataDir: string, name: string): string {
  return keptInDataDir(dataDir, name, () => randomBytes(48).toString('base64url'))
}

function keptInDataDir(dataDir: string, name: string, make: () => string): string {
  const file = join(dataDir, name)
  if (existsSync(file)) return readFileSync(file, 'utf8').trim()
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  const value = make()
  writeFileSync(file, `${value.trim()}\n`, { mode: 0o600 })
  chmodSync(file, 0o600)
  return value.trim()
}
