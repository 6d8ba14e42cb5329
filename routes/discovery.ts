import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { unreadableRequest } from '../schema/wire.js'
import { aliasMarks, V1 } from './paths.js'

const tags = ['discovery']

const Jwks = Type.Object(
  { keys: Type.Array(Type.Record(Type.String(), Type.Unknown())) },
  { description: 'The public keys that verify our tokens (RFC 7517); HMAC secrets are never published' },
)

const Discovery = Type.Object(
  {
    issuer: Type.String(),
    jwks_uri: Type.String(),
    token_endpoint: Type.String(),
    introspection_endpoint: Type.String(),
    revocation_endpoint: Type.String(),
    token_endpoint_auth_methods_supported: Type.Array(Type.String()),
    introspection_endpoint_auth_methods_supported: Type.Array(Type.String()),
    revocation_endpoint_auth_methods_supported: Type.Array(Type.String()),
    grant_types_supported: Type.Array(Type.String()),
    token_signing_alg_values_supported: Type.Array(Type.String()),
  },
  {
    description:
      'Where standard libraries find our keys and endpoints (OpenID Connect Discovery / RFC 8414 style)',
  },
)

/**
 * How the services behind us find our keys and endpoints without configuration. In HMAC mode the
 * key set is empty on purpose: the shared secret is never published.
 */
const discoveryRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { jwtIssuer, keysPollSeconds } = app.config
  // Resource servers refetch on a kid they do not know; a rotation is published ahead of use.
  const maxAge = Math.min(300, Math.max(keysPollSeconds, 60))

  const jwks = ['/.well-known/jwks.json', `${V1}/jwks/`]
  for (const url of jwks) {
    app.get(url, {
      schema: {
        ...aliasMarks(url, jwks),
        tags,
        summary: 'JSON Web Key Set',
        response: { 200: Jwks, ...unreadableRequest },
      },
      handler: async (_request, reply) => {
        reply.header('cache-control', `public, max-age=${maxAge}`)
        return { keys: app.keyring.jwks() }
      },
    })
  }

  app.get('/.well-known/openid-configuration', {
    schema: { tags, summary: 'Discovery document', response: { 200: Discovery, ...unreadableRequest } },
    handler: async (_request, reply) => {
      // From PUBLIC_URL alone, never Host or X-Forwarded-Host: the answer is cached publicly, and a
      // client naming another host would point every reader's keys and endpoints there.
      const origin = app.config.publicUrl
      reply.header('cache-control', 'public, max-age=300')
      return {
        issuer: jwtIssuer ?? origin,
        jwks_uri: `${origin}/.well-known/jwks.json`,
        token_endpoint: `${origin}${V1}/token/`,
        introspection_endpoint: `${origin}${V1}/introspect/`,
        revocation_endpoint: `${origin}${V1}/revoke/`,
        token_endpoint_auth_methods_supported: ['none'],
        // A staff Bearer token, or a service's INTROSPECTION_CLIENTS id and secret over HTTP Basic.
        introspection_endpoint_auth_methods_supported: ['bearer', 'client_secret_basic'],
        revocation_endpoint_auth_methods_supported: ['bearer', 'client_secret_basic'],
        grant_types_supported: ['password', 'refresh_token'],
        token_signing_alg_values_supported: app.keyring.algorithms(),
      }
    },
  })
}

export default discoveryRoutes
