import fp from 'fastify-plugin'
import { ApiError } from '../../src/http/errors.js'

/**
 * Request bodies as DRF reads them: JSON (an empty body is an empty object, a broken one a 400 in
 * DRF's words) and forms (@fastify/formbody); anything else, text/plain included, is 415.
 */
export default fp(
  async (app) => {
    // JSON: an empty body is an empty object (DRF), a broken one a 400 in DRF's words.
    const defaultJson = app.getDefaultJsonParser('error', 'error')
    app.removeContentTypeParser('application/json')
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      const text = (body as string).trim()
      if (text === '') return done(null, {})
      defaultJson(request, text, (err: Error | null, value?: unknown) => {
        if (err) return done(new ApiError(400, `JSON parse error - ${jsonMessage(err)}`), undefined)
        done(null, value)
      })
    })

    // DRF parses JSON and forms only; text/plain must be 415, not a string body.
    app.removeContentTypeParser('text/plain')
  },
  { name: 'json-body' },
)

function jsonMessage(err: Error): string {
  return err.message.replace(/^Unexpected token.*?, /, '').slice(0, 200)
}
