import { clientIp } from '../src/http/client-ip.js'
import { requestMeta } from '../src/http/request-meta.js'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { principalOf } from '../plugins/app/authenticate.js'
import { errors } from '../src/http/errors.js'
import {
  Detail,
  EmailVerifyBody,
  EmailVerifyResponse,
  errorResponses,
  PasswordResetBody,
  PasswordResetConfirmBody,
  PasswordResetConfirmResponse,
} from '../schema/wire.js'
import { V1 } from './paths.js'
import { protectedRoute } from './protected.js'

const tags = ['mail']
const notFound = { 404: { ...errorResponses[401], description: 'Mail is off (production without SMTP_URL)' } }

/**
 * Password reset and e-mail verification. With mail off (production without SMTP_URL) each answers
 * 404, as a route that does not exist.
 */
const mailRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { passwordReset, emailVerification, currentUser } = app
  app.addHook('onRequest', async () => {
    if (!app.config.mailEnabled) throw errors.notFound()
  })

  app.post(`${V1}/password/reset/`, {
    schema: {
      tags,
      summary:
        'Mail a password reset link, if an account uses this address (the answer is the same either way)',
      body: PasswordResetBody,
      response: { 202: Detail, ...errorResponses, ...notFound },
    },
    handler: async (request, reply) => {
      await passwordReset.request(request.body.email, clientIp(request))
      return reply
        .code(202)
        .send({ detail: 'If an account uses this address, a link to reset its password is on its way.' })
    },
  })

  app.post(`${V1}/password/reset/confirm/`, {
    schema: {
      tags,
      summary: 'Set a new password with the token from the mail; every session of the user is revoked',
      body: PasswordResetConfirmBody,
      response: { 200: PasswordResetConfirmResponse, ...errorResponses, ...notFound },
    },
    handler: async (request) =>
      passwordReset.confirm(request.body.token, request.body.new_password, requestMeta(request)),
  })

  app.post(`${V1}/email/verify/`, {
    schema: {
      tags,
      summary: 'Mark the address verified with the token from the mail',
      body: EmailVerifyBody,
      response: { 200: EmailVerifyResponse, ...errorResponses, ...notFound },
    },
    handler: async (request) => emailVerification.confirm(request.body.token),
  })

  app.post(`${V1}/email/verify/resend/`, {
    ...protectedRoute(tags, {
      summary: "Mail a new verification link to the caller's address",
      response: { 202: Detail },
    }),
    handler: async (request, reply) => {
      const user = await currentUser.of(principalOf(request))
      return reply.code(202).send(await emailVerification.resend(user, clientIp(request)))
    },
  })
}

export default mailRoutes
