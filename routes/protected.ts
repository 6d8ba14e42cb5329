import type { TSchema } from '@sinclair/typebox'
import type { FastifyContextConfig } from 'fastify'
import { protectedResponses } from '../schema/wire.js'

const BEARER = [{ bearerAuth: [] }]
/** Introspection and revocation also take a configured service's HTTP Basic credentials. */
const BEARER_OR_CLIENT: Record<string, string[]>[] = [{ bearerAuth: [] }, { clientBasic: [] }]

/**
 * A protected route's header, declared once: `config.protected` (plugins/app/authenticate.ts puts
 * authentication first), the document's security, and the error answers every protected route
 * may give (401, 403, 404, ...) added to the route's own responses. Spread into the route's options:
 * `app.get(url, { ...protectedRoute(tags, { summary, response: { 200: Body } }), handler })`.
 */
export function protectedRoute<S extends { response: Record<number, TSchema> }>(
  tags: string[],
  schema: S,
  config: Omit<FastifyContextConfig, 'protected'> = {},
) {
  return {
    config: { ...config, protected: true },
    schema: {
      tags,
      ...schema,
      security: config.clientCredentials ? BEARER_OR_CLIENT : BEARER,
      response: { ...schema.response, ...protectedResponses },
    },
  }
}
