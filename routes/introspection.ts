import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { callerOf } from '../plugins/authenticate.js'
import { Empty, IntrospectionResponse, protectedResponses, TokenQueryBody } from '../schema/wire.js'
import { V1 } from './paths.js'

const tags = ['tokens']
const security: Record<string, string[]>[] = [{ bearerAuth: [] }, { clientBasic: [] }]

/**
 * RFC 7662 introspection and RFC 7009 revocation, for operators and the services behind us:
 * form-encoded as the RFCs say (JSON accepted too), the caller an operator's access token or a
 * service's HTTP Basic credentials (INTROSPECTION_CLIENTS).
 */
const introspectionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { introspection } = app

  app.post(`${V1}/introspect/`, {
    config: { protected: true, clientCredentials: true, throttle: 'introspection' },
    schema: {
      tags,
      security,
      summary: 'RFC 7662: is this token active, and whose is it (staff)',
      description: 'Form-encoded `token` (and an optional `token_type_hint`). Never cached.',
      body: TokenQueryBody,
      response: { 200: IntrospectionResponse, ...protectedResponses },
    },
    handler: async (request, reply) => {
      reply.header('cache-control', 'no-store')
      return introspection.introspect(callerOf(request), request.body.token)
    },
  })

  app.post(`${V1}/revoke/`, {
    config: { protected: true, clientCredentials: true, throttle: 'introspection' },
    schema: {
      tags,
      security,
      summary: 'RFC 7009: revoke a token (staff); a refresh token ends its session',
      description: 'Answers 200 for any token, also one that was invalid or revoked already.',
      body: TokenQueryBody,
      response: { 200: Empty, ...protectedResponses },
    },
    handler: async (request) => introspection.revoke(callerOf(request), request.body.token),
  })
}

export default introspectionRoutes
