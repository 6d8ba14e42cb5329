import fp from 'fastify-plugin'
import { keyEncryptionKeyOf } from '../../src/keys/development.js'
import { Keyring } from '../../src/keys/keyring.js'
import type { TokenCodec } from '../../src/tokens/codec.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Our signing keys: which signs, which verify, what the JWKS publishes (src/keys/keyring.ts). */
    keyring: Keyring
    /** Signs and verifies our tokens, each key with its own pinned algorithm: the keyring. */
    tokenCodec: TokenCodec
  }
}

/**
 * The keyring over the configured key and the keys `rotate-key` stored. Start-up fails when the
 * stored keys cannot be opened (KEY_ENCRYPTION_KEY missing or wrong): signing with the configured
 * key instead would log out everyone whose token a stored key signed.
 */
export default fp(
  async (app) => {
    const { config, repos } = app
    const keyring = new Keyring(
      {
        algorithm: config.jwtAlgorithm,
        signingKey: config.signingKey,
        privateKey: config.privateKey,
        issuer: config.jwtIssuer,
        audience: config.jwtAudience,
        lifetimeSeconds: Math.max(config.refreshTokenLifetime, config.accessTokenLifetime),
        legacyUntilMs: config.legacyTokensUntil,
      },
      () => repos.signingKeys.load(keyEncryptionKeyOf(config)),
      (err) => app.log.warn({ err }, 'could not read the signing keys; the ones held keep working'),
    )
    await keyring.reload()
    const stopPolling = keyring.poll(config.keysPollSeconds)
    app.addHook('onClose', async () => stopPolling())
    app.decorate('keyring', keyring)
    app.decorate('tokenCodec', keyring)
  },
  { name: 'keys', dependencies: ['config', 'database'] },
)
