import { randomBytes } from 'node:crypto'
import { isKeyPairAlgorithm, type JwtAlgorithm } from '../config/tokens.js'
import type { SigningKeyRepository } from './key-store.js'
import { timeline } from './keyring.js'
import { checkedPrivateKey, generatePrivateKey, publicParts } from './material.js'

export interface Rotation {
  kid: string
  alg: JwtAlgorithm
  signsFromMs: number
  /** Stored keys dropped because no token they signed can still be alive. */
  removed: string[]
}

/**
 * Stores a new key that signs from `signsFromMs` (publish it first, sign later: every instance
 * reads it within KEYS_POLL_SECONDS, so each knows it before a token carries it). The keys before
 * it keep verifying for `lifetimeMs`; stored keys past that are removed.
 */
export async function rotateKey(
  repo: SigningKeyRepository,
  options: { alg: JwtAlgorithm; encryptionKey: string; signsFromMs: number; lifetimeMs: number },
): Promise<Rotation> {
  const { alg, encryptionKey, signsFromMs, lifetimeMs } = options
  const stored = await repo.load(encryptionKey)
  let kid: string
  let secret: string
  if (isKeyPairAlgorithm(alg)) {
    secret = generatePrivateKey(alg)
    kid = publicParts(alg, checkedPrivateKey(alg, secret)).jwk.kid
  } else {
    secret = randomBytes(64).toString('base64url')
    kid = randomBytes(12).toString('base64url')
  }
  const next = { kid, alg, secret, signsFromMs }
  await repo.add(next, encryptionKey)
  const { live } = timeline([...stored, next], lifetimeMs, Date.now())
  const removed = stored.filter((key) => !live.includes(key)).map((key) => key.kid)
  await repo.remove(removed)
  return { kid, alg, signsFromMs, removed }
}
