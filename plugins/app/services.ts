import fp from 'fastify-plugin'
import { CurrentUser } from '../../src/accounts/current-user.js'
import { EmailVerification } from '../../src/mail/email-verification.js'
import { PasswordReset } from '../../src/mail/password-reset.js'
import { TwoFactor } from '../../src/mfa/two-factor.js'
import { PasswordHasher } from '../../src/accounts/passwords.js'
import { SessionActivity } from '../../src/sessions/activity.js'
import { SessionService } from '../../src/sessions/service.js'
import { UserService } from '../../src/accounts/user-service.js'
import { AuditReader } from '../../src/audit/audit-reader.js'
import { Authenticator } from '../../src/auth/authenticate.js'
import { Introspection } from '../../src/auth/introspection.js'
import { Throttle } from '../../src/auth/throttle.js'
import { TokenFlows } from '../../src/auth/token-flows.js'
import { keyEncryptionKeyOf } from '../../src/keys/development.js'
import { RevocationService } from '../../src/revocation/service.js'

declare module 'fastify' {
  interface FastifyInstance {
    hasher: PasswordHasher
    throttle: Throttle
    revocations: RevocationService
    sessionActivity: SessionActivity
    /** The hot path: Authorization header to caller (src/auth/authenticate.ts). */
    authenticator: Authenticator
    currentUser: CurrentUser
    /** Login, refresh, verify, blacklist, logout. */
    tokens: TokenFlows
    /** RFC 7662 introspection and RFC 7009 revocation, for operators and the services behind us. */
    introspection: Introspection
    users: UserService
    sessions: SessionService
    passwordReset: PasswordReset
    emailVerification: EmailVerification
    twoFactor: TwoFactor
    /** Staff reading the audit trail (the writing is app.audit's). */
    auditReader: AuditReader
  }
}

/**
 * Every service, built once here from the database, the store and the codec, each given the
 * dependencies it names. Routes reach them through these decorations only.
 */
export default fp(
  async (app) => {
    const { config, repos, revocationStore: store, tokenCodec: codec } = app
    const db = app.database.db
    const hasher = new PasswordHasher(config.argon2, undefined, config.legacyPasswordHashes)
    const throttle = new Throttle(store, {
      perAccountAndIp: config.loginRateLimit,
      perAccount: config.loginAccountRateLimit,
      windowSeconds: config.loginRateWindowSeconds,
      perMailAddress: config.mailRateLimit,
      perMailIp: config.mailIpRateLimit,
    })
    const revocations = new RevocationService({ db, repos, store, config })
    const activity = new SessionActivity(
      (ids, at) => repos.sessions.touch(ids, at),
      (err) => app.log.warn({ err }, 'could not record session activity'),
    )
    const currentUser = new CurrentUser({ repos, staffNeedMfa: config.mfaRequiredForStaff })
    const audit = app.audit
    app.decorate('hasher', hasher)
    app.decorate('throttle', throttle)
    app.decorate('revocations', revocations)
    app.decorate('sessionActivity', activity)
    app.decorate('authenticator', new Authenticator({ codec, store, activity }))
    app.decorate('currentUser', currentUser)
    // Read when first needed: outside production this may generate the key file in DATA_DIR.
    const encryptionKey = () => keyEncryptionKeyOf(config)
    const twoFactor = new TwoFactor({
      config,
      encryptionKey,
      db,
      repos,
      hasher,
      throttle,
      currentUser,
      audit,
      revocations,
    })
    app.decorate('twoFactor', twoFactor)
    const authDeps = { config, repos, store, revocations, hasher, codec, throttle, twoFactor, audit }
    app.decorate('tokens', new TokenFlows(authDeps))
    app.decorate('introspection', new Introspection({ ...authDeps, currentUser }))
    const mail = { config, db, repos, mailer: app.mailer }
    const verification = new EmailVerification({ ...mail, throttle })
    app.decorate('emailVerification', verification)
    app.decorate(
      'passwordReset',
      new PasswordReset({ ...mail, revocations, hasher, throttle, background: app.background, audit }),
    )
    app.decorate(
      'users',
      new UserService({
        db,
        repos,
        revocations,
        hasher,
        throttle,
        currentUser,
        audit,
        verification: config.mailEnabled ? verification : undefined,
      }),
    )
    app.decorate('sessions', new SessionService({ repos, revocations, currentUser, audit }))
    app.decorate('auditReader', new AuditReader({ repos, currentUser }))
    app.addHook('onClose', () => activity.close())

    // The in-process store starts empty, and a Redis may lose its data while we run: the store
    // is filled from the database at start and again whenever it may have lost entries.
    let rebuilds = 0
    app.addHook('onReady', () =>
      store.keepRestored(async (scope) => {
        const first = rebuilds++ === 0
        try {
          const restored = await revocations.rebuild(scope)
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
  { name: 'services', dependencies: ['config', 'database', 'revocation-store', 'keys', 'mail', 'audit'] },
)
