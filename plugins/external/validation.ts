import Ajv from 'ajv'
import addFormats from 'ajv-formats'
import fp from 'fastify-plugin'
import {
  isStorableDateTime,
  normalizeBody,
  nullCharacterErrors,
  type ObjectSchema,
} from '../../src/http/drf.js'
import { FieldErrors } from '../../src/http/errors.js'

/**
 * Two Ajv instances: bodies are validated as sent (after DRF's own coercions in normalizeBody,
 * which keep null distinct from ""), while query strings and path params are coerced from text.
 * allErrors, so that a body missing two fields hears about both, as DRF answers.
 */
export default fp(
  async (app) => {
    const common = { allErrors: true, strict: false, removeAdditional: false, useDefaults: true } as const
    const bodyAjv = addFormats.default(new Ajv.default({ ...common, coerceTypes: false }))
    const textAjv = addFormats.default(new Ajv.default({ ...common, coerceTypes: 'array' }))
    for (const ajv of [bodyAjv, textAjv]) ajv.addFormat('date-time', isStorableDateTime)
    app.setValidatorCompiler(({ schema, httpPart }) =>
      httpPart === 'body' ? bodyAjv.compile(schema) : textAjv.compile(schema),
    )

    app.addHook('onRoute', (route) => {
      const query = route.schema?.querystring as ObjectSchema | undefined
      if (query?.properties) {
        // Every filter alike: a NUL in any of them would reach a query the database refuses.
        const refuseNul = (request: { query: unknown }, _reply: unknown, done: (err?: Error) => void) => {
          const nul = nullCharacterErrors(query, request.query)
          done(nul ? new FieldErrors(nul) : undefined)
        }
        prepend(route, refuseNul)
      }
      const body = route.schema?.body as ObjectSchema | undefined
      if (!body?.properties) return
      // A callback hook, not an async one: no promise per request on the token endpoints' hot path.
      const normalize = (request: { body: unknown }, _reply: unknown, done: (err?: Error) => void) => {
        request.body = normalizeBody(body, request.body)
        // PostgreSQL cannot store NUL in text, and DRF refuses it in every CharField.
        const nul = nullCharacterErrors(body, request.body)
        done(nul ? new FieldErrors(nul) : undefined)
      }
      prepend(route, normalize)
    })
  },
  { name: 'validation' },
)

/** Runs `hook` before the route's own preValidation hooks. */
function prepend(route: { preValidation?: unknown }, hook: unknown): void {
  const existing = route.preValidation
  route.preValidation = existing ? [hook, ...(Array.isArray(existing) ? existing : [existing])] : [hook]
}
