import { requestMeta } from '../src/http/request-meta.js'
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import { VERIFY_PAGE } from '../src/mail/email-verification.js'
import { RESET_PAGE } from '../src/mail/password-reset.js'
import { FieldErrors } from '../src/http/errors.js'
import { escapeHtml } from '../src/mail/templates.js'

// No script, no style from elsewhere; the form posts here only. The token is in the URL: keep it
// out of Referer headers and out of caches.
const HEADERS = {
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'x-frame-options': 'DENY',
}

function page(reply: FastifyReply, status: number, title: string, body: string) {
  return reply
    .code(status)
    .headers(HEADERS)
    .type('text/html; charset=utf-8')
    .send(
      `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
        `<title>${escapeHtml(title)}</title><style>body{font:16px system-ui;max-width:28rem;margin:4rem auto;padding:0 1rem}` +
        `input,button{font:inherit;padding:.4rem;margin:.3rem 0;width:100%}</style><h1>${escapeHtml(title)}</h1>${body}</html>`,
    )
}

/** The first sentence of a 400 from the flows, for the page. */
function problem(err: unknown): string | undefined {
  if (!(err instanceof FieldErrors)) return undefined
  return Object.values(err.fields)[0]?.[0]
}

const field = (body: unknown, name: string): string => {
  const value = (body as Record<string, unknown> | undefined)?.[name]
  return typeof value === 'string' ? value : ''
}

/**
 * The pages the links in our mails open (PUBLIC_URL + path), for teams without pages of their
 * own (PASSWORD_RESET_URL / EMAIL_VERIFICATION_URL point elsewhere otherwise). Plain forms that
 * post to the same flows as the JSON API; a GET changes nothing, so a mail scanner following the
 * link spends no token.
 */
const mailPages: FastifyPluginAsync = async (app) => {
  app.addHook('onRequest', async (_request, reply) => {
    if (!app.config.mailEnabled) return reply.code(404).send({ detail: 'Not found.', code: 'not_found' })
  })
  const hidden = { schema: { hide: true } }

  app.get(RESET_PAGE, hidden, async (request, reply) => {
    const token = field(request.query, 'token')
    return page(
      reply,
      200,
      'Choose a new password',
      `<form method="post"><input type="hidden" name="token" value="${escapeHtml(token)}">` +
        `<label>New password<input type="password" name="new_password" minlength="8" maxlength="4096" autocomplete="new-password" required></label>` +
        '<button>Set the new password</button></form>',
    )
  })

  app.post(RESET_PAGE, hidden, async (request, reply) => {
    const password = field(request.body, 'new_password')
    if (password.length < 8 || password.length > 4096) {
      return page(
        reply,
        400,
        'Choose a new password',
        '<p>The password must have 8 to 4096 characters. Go back and try again.</p>',
      )
    }
    try {
      await app.passwordReset.confirm(field(request.body, 'token'), password, requestMeta(request))
    } catch (err) {
      const sentence = problem(err)
      if (!sentence) throw err
      return page(reply, 400, 'This link does not work', `<p>${escapeHtml(sentence)}</p>`)
    }
    return page(
      reply,
      200,
      'Password changed',
      '<p>Your password has been reset, and every session signed out. Log in with the new one.</p>',
    )
  })

  app.get(VERIFY_PAGE, hidden, async (request, reply) =>
    page(
      reply,
      200,
      'Confirm your e-mail address',
      `<form method="post"><input type="hidden" name="token" value="${escapeHtml(field(request.query, 'token'))}">` +
        '<button>Confirm my address</button></form>',
    ),
  )

  app.post(VERIFY_PAGE, hidden, async (request, reply) => {
    try {
      const { email } = await app.emailVerification.confirm(field(request.body, 'token'))
      return page(
        reply,
        200,
        'Address confirmed',
        `<p>${escapeHtml(email)} is verified. You can close this page.</p>`,
      )
    } catch (err) {
      const sentence = problem(err)
      if (!sentence) throw err
      return page(reply, 400, 'This link does not work', `<p>${escapeHtml(sentence)}</p>`)
    }
  })
}

export default mailPages
