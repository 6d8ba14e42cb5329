import fp from 'fastify-plugin'
import { PasswordHasher } from '../src/passwords.js'
import { AuthService } from '../src/services/auth-service.js'
import { RevocationService } from '../src/services/revocation-service.js'
import { SessionActivity } from '../src/services/session-activity.js'
import './types.js'

/** The framework-free services, wired to the database, the store and the signer. */
export default fp(
  async (app) => {
    const { config, repos, revocationStore: store, tokenCodec: codec } = app
    const hasher = new PasswordHasher(config.argon2)
    const revocations = new RevocationService(repos, store, config)
    const activity = new SessionActivity(
      (ids, at) => repos.sessions.touch(ids, at),
      (err) => app.log.warn({ err }, 'could not record session activity'),
    )
    app.decorate('hasher', hasher)
    app.decorate('revocations', revocations)
    app.decorate('sessionActivity', activity)
    app.decorate('auth', new AuthService({ config, repos, store, revocations, hasher, codec, activity }))
    app.addHook('onClose', () => activity.close())
    // The in-process store starts empty and a Redis may have lost its data: restore the deny-list,
    // at start and whenever Redis comes back.
    app.addHook('onReady', async () => {
      const restored = await revocations.rebuild()
      app.log.debug(restored, 'revocation store rebuilt from the database')
    })
    store.onReconnect?.(async () => {
      try {
        const restored = await revocations.rebuild()
        app.log.info(restored, 'Redis reconnected: revocation store rebuilt from the database')
      } catch (err) {
        app.log.error({ err }, 'Redis reconnected but the revocation store could not be rebuilt; retrying')
        throw err
      }
    })
  },
  { name: 'services', dependencies: ['config', 'database', 'revocation-store', 'jwt'] },
)
