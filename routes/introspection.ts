import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { callerOf } from '../plugins/app/authenticate.js'
import { Empty, IntrospectionResponse, TokenQueryBody } from '../schema/wire.js'
import { V1 } from './paths.js'
import { protectedRoute } from './protected.js'

const tags = ['tokens']

/**
 * RFC 7662 introspection and RFC 7009 revocation, for operators and the services behind us:
 * form-encoded as the RFCs say (JSON accepted too), the caller an operator's access token or a
 * service's HTTP Basic credentials (INTROSPECTION_CLIENTS).
 */
const introspectionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { introspection } = app

  app.post(`${V1}/introspect/`, {
    ...protectedRoute(
      tags,
      {
        summary: 'RFC 7662: is this token active, and whose is it (staff)',
        description: 'Form-encoded `token` (and an optional `token_type_hint`). Never cached.',
        body: TokenQueryBody,
        response: { 200: IntrospectionResponse },
      },
      { clientCredentials: true },
    ),
    handler: async (request, reply) => {
      reply.header('cache-control', 'no-store')
      return introspection.introspect(callerOf(request), request.body.token)
    },
  })

  app.post(`${V1}/revoke/`, {
    ...protectedRoute(
      tags,
      {
        summary: 'RFC 7009: revoke a token (staff); a refresh token ends its session',
        description: 'Answers 200 for any token, also one that was invalid or revoked already.',
        body: TokenQueryBody,
        response: { 200: Empty },
      },
      { clientCredentials: true },
    ),
    handler: async (request) => introspection.revoke(callerOf(request), request.body.token),
  })
}

export default introspectionRoutes
