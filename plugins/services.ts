import fp from 'fastify-plugin'
import { PasswordHasher } from '../src/accounts/passwords.js'
import { AuthService } from '../src/auth/token-flows.js'
import { RevocationService } from '../src/revocation/service.js'
import { SessionActivity } from '../src/accounts/session-activity.js'
import { Throttle } from '../src/auth/throttle.js'
import './types.js'

/** The framework-free services, wired to the database, the store and the signer. */
export default fp(
  async (app) => {
    const { config, repos, revocationStore: store, tokenCodec: codec } = app
    const hasher = new PasswordHasher(config.argon2)
    const throttle = new Throttle(store, {
      perAccountAndIp: config.loginRateLimit,
      perAccount: config.loginAccountRateLimit,
      windowSeconds: config.loginRateWindowSeconds,
    })
    const revocations = new RevocationService({ db: app.database.db, repos, store, config })
    const activity = new SessionActivity(
      (ids, at) => repos.sessions.touch(ids, at),
      (err) => app.log.warn({ err }, 'could not record session activity'),
    )
    app.decorate('hasher', hasher)
    app.decorate('throttle', throttle)
    app.decorate('revocations', revocations)
    app.decorate('sessionActivity', activity)
    app.decorate(
      'auth',
      new AuthService({ config, repos, store, revocations, hasher, codec, activity, throttle }),
    )
    app.addHook('onClose', () => activity.close())
    // The in-process store starts empty, and a Redis may lose its data while we run: the store
    // is filled from the database at start and again whenever it may have lost entries.
    let rebuilds = 0
    app.addHook('onReady', () =>
      store.keepRestored(async () => {
        const first = rebuilds++ === 0
        try {
          const restored = await revocations.rebuild()
          if (first) app.log.debug(restored, 'revocation store filled from the database')
          else app.log.warn(restored, 'revocation store may have lost entries: rebuilt from the database')
        } catch (err) {
          app.log.error(
            { err },
            'revocation store could not be rebuilt; protected routes answer 503 until it is',
          )
          throw err
        }
      }),
    )
  },
  { name: 'services', dependencies: ['config', 'database', 'revocation-store', 'jwt'] },
)
