import { seal, unseal } from '../keys/sealed.js'

/**
 * Endpoint secrets at rest: sealed with KEY_ENCRYPTION_KEY like the two-factor secrets, with the
 * endpoint's id as associated data, so a sealed secret copied onto another endpoint's row does
 * not open. The plaintext is shown once (registration, rotation) and otherwise only signs.
 */
export function sealSecret(encryptionKey: string, endpointId: number, secret: string): string {
  return seal(encryptionKey, sealId(endpointId), secret)
}

/** Throws when KEY_ENCRYPTION_KEY is not the key that sealed it. */
export function openSecret(encryptionKey: string, endpointId: number, sealed: string): string {
  return unseal(encryptionKey, sealId(endpointId), sealed)
}

function sealId(endpointId: number): string {
  return `webhook:${endpointId}`
}
