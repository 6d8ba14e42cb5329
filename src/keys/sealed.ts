import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'

/**
 * Secrets at rest (the keys `rotate-key` stores in the database): AES-256-GCM under a key derived
 * from KEY_ENCRYPTION_KEY, with the kid as associated data, so a sealed key copied onto another
 * row does not open. Format: `v1.<iv>.<tag>.<ciphertext>`, each part base64url.
 */
export function seal(encryptionKey: string, kid: string, plaintext: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', derive(encryptionKey), iv)
  cipher.setAAD(Buffer.from(kid))
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return ['v1', iv, cipher.getAuthTag(), body]
    .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
    .join('.')
}

/** The plaintext; throws when the key is not the one that sealed it, or the text was altered. */
export function unseal(encryptionKey: string, kid: string, sealed: string): string {
  const [version, iv, tag, body] = sealed.split('.')
  if (version !== 'v1' || !iv || !tag || body === undefined) throw new Error('not a sealed key')
  const decipher = createDecipheriv('aes-256-gcm', derive(encryptionKey), Buffer.from(iv, 'base64url'))
  decipher.setAAD(Buffer.from(kid))
  decipher.setAuthTag(Buffer.from(tag, 'base64url'))
  return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8')
}

function derive(encryptionKey: string): Buffer {
  return Buffer.from(hkdfSync('sha256', encryptionKey, 'authjwt', 'signing-keys/v1', 32))
}
