/** The signing algorithms we accept, owned by keys/ so that config and key material share them. */
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const
export const KEY_PAIR_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'] as const
export const JWT_ALGORITHMS = [...HMAC_ALGORITHMS, ...KEY_PAIR_ALGORITHMS] as const
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number]
export type KeyPairAlgorithm = (typeof KEY_PAIR_ALGORITHMS)[number]

export function isKeyPairAlgorithm(alg: string): alg is KeyPairAlgorithm {
  return (KEY_PAIR_ALGORITHMS as readonly string[]).includes(alg)
}
