import { join } from 'node:path'
import fp from 'fastify-plugin'
import { Background } from '../../src/lib/background.js'
import { Mailer } from '../../src/mail/mailer.js'
import { MailTemplates } from '../../src/mail/templates.js'
import { fileTransport, smtpTransport } from '../../src/mail/transport.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Sends the outbox (src/mail/mailer.ts). */
    mailer: Mailer
    /** Work done after an answer; a clean shutdown waits for it. */
    background: Background
  }
}

/**
 * Mail: SMTP at SMTP_URL, or .eml files in DATA_DIR/outbox outside production. In production
 * without SMTP_URL the features that send mail are off, and the start-up log says so.
 */
export default fp(
  async (app) => {
    const { config, repos } = app
    const templates = new MailTemplates(config.mailTemplatesDir)
    const transport = config.smtpUrl
      ? smtpTransport(config.smtpUrl)
      : fileTransport(join(config.dataDir, 'outbox'), ({ to, file, links }) =>
          // The .eml is quoted-printable (`=3D` for `=`): the link as a developer can paste it.
          app.log.info(`mail to ${to} written to ${file}${links.length ? `; link: ${links.join(' ')}` : ''}`),
        )
    const mailer = new Mailer(repos.outbox, templates, transport, {
      from: config.mailFrom,
      retryMs: config.mailRetrySeconds * 1000,
      pollMs: Math.min(5000, config.mailRetrySeconds * 1000),
      onError: (err, mail) =>
        app.log.warn(
          { err: { code: (err as { code?: string }).code }, outbox: mail.id, attempt: mail.attempts },
          'mail not sent; will retry',
        ),
    })
    const background = new Background((err) => app.log.error({ err }, 'background work failed'))
    app.decorate('mailer', mailer)
    app.decorate('background', background)
    app.addHook('onReady', async () => {
      if (!config.mailEnabled) {
        app.log.info(
          'password reset and e-mail verification are off: set SMTP_URL and PUBLIC_URL to turn them on',
        )
        return
      }
      if (!config.smtpUrl) app.log.info(`no SMTP_URL: mail is written to ${mailer.description}`)
      mailer.start()
    })
    app.addHook('onClose', async () => {
      await background.settle()
      await mailer.stop()
    })
  },
  { name: 'mail', dependencies: ['config', 'database'] },
)
