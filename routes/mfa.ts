import { clientIp } from '../src/http/client-ip.js'
import { requestMeta } from '../src/http/request-meta.js'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { principalOf } from '../plugins/app/authenticate.js'
import {
  Detail,
  errorResponses,
  IdParams,
  LoginResponse,
  MfaConfirmBody,
  MfaConfirmResponse,
  MfaLoginBody,
  MfaProofBody,
  MfaSetupBody,
  MfaSetupResponse,
  MfaStatus,
  RecoveryCodes,
} from '../schema/wire.js'
import { V1 } from './paths.js'
import { protectedRoute } from './protected.js'

const tags = ['two-factor']

/** TOTP two-factor: the login's second step, the caller's own enrolment, and staff's reset. */
const mfaRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { twoFactor, tokens, users } = app

  app.post(`${V1}/token/mfa/`, {
    schema: {
      tags,
      summary: "Complete a login that answered 401 mfa_required: the same answer as a login's",
      body: MfaLoginBody,
      response: { 200: LoginResponse, ...errorResponses },
    },
    handler: async (request) =>
      tokens.completeMfa(request.body.mfa_token, request.body.code, requestMeta(request)),
  })

  app.get(`${V1}/mfa/`, {
    ...protectedRoute(tags, {
      summary: "The caller's two-factor state",
      response: { 200: MfaStatus },
    }),
    handler: async (request) => twoFactor.status(principalOf(request)),
  })

  app.post(`${V1}/mfa/totp/setup/`, {
    ...protectedRoute(tags, {
      summary:
        'Start enrolment: a new secret, its otpauth URL and QR code (two-factor is on only after confirm)',
      description: 'Needs the current `password`, unless the session logged in less than five minutes ago.',
      body: MfaSetupBody,
      response: { 200: MfaSetupResponse },
    }),
    handler: async (request) => twoFactor.setup(principalOf(request), request.body?.password, request.ip),
  })

  app.post(`${V1}/mfa/totp/confirm/`, {
    ...protectedRoute(tags, {
      summary: 'Turn two-factor on with a first code; answers the ten recovery codes, shown this once',
      description:
        "The caller's other sessions end (opened without the second factor), unless `keep_other_sessions` is true.",
      body: MfaConfirmBody,
      response: { 200: MfaConfirmResponse },
    }),
    handler: async (request) =>
      twoFactor.confirm(
        principalOf(request),
        request.body.code,
        requestMeta(request),
        request.body.keep_other_sessions === true,
      ),
  })

  app.post(`${V1}/mfa/disable/`, {
    ...protectedRoute(tags, {
      summary: 'Turn two-factor off, with the password or a current code',
      body: MfaProofBody,
      response: { 200: Detail },
    }),
    handler: async (request) => twoFactor.disable(principalOf(request), request.body, requestMeta(request)),
  })

  app.post(`${V1}/mfa/recovery-codes/`, {
    ...protectedRoute(tags, {
      summary: 'Ten new recovery codes (the old ones stop working), with the password or a current code',
      body: MfaProofBody,
      response: { 200: RecoveryCodes },
    }),
    handler: async (request) => twoFactor.regenerate(principalOf(request), request.body, clientIp(request)),
  })

  app.delete(`${V1}/users/:id/mfa/`, {
    ...protectedRoute(tags, {
      summary: "Staff: turn a user's two-factor off (a lost phone), within the tenant rules",
      params: IdParams,
      response: { 200: Detail },
    }),
    handler: async (request) => {
      const { actor, user } = await users.managed(principalOf(request), request.params.id)
      await twoFactor.reset(actor, user, requestMeta(request))
      return { detail: 'Two-factor authentication is off for this user.' }
    },
  })
}

export default mfaRoutes
