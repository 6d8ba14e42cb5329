import fp from 'fastify-plugin'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { ApiError, errors, FieldErrors } from '../src/http/errors.js'
import { type AjvError, fieldErrors, type ObjectSchema } from '../src/http/drf.js'
import { ThrottledError } from '../src/auth/throttle.js'
import { isBackendUnavailable } from '../src/http/unavailable.js'
import './types.js'

const WWW_AUTHENTICATE = 'Bearer realm="api"'

/**
 * One place turns every failure into the contract's bodies. Anything unforeseen is logged and
 * answered 500 without detail; nothing a client sends is meant to reach that branch.
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

    app.setErrorHandler((error: FastifyError, request, reply) => sendError(error, request, reply))

    // Paths that exist under another method answer 405 (after authentication, as DRF does).
    const patterns: {
      re: RegExp
      methods: Set<string>
      protected: boolean
      parametric: boolean
      name?: string
    }[] = []
    // Paths without parameters: a static path is its own endpoint, never a value of a sibling's
    // parameter (DRF's router lists `sessions/revoke_all/` before `sessions/{pk}/`).
    const staticPaths = new Set<string>()
    const trimSlash = (path: string) => (path.endsWith('/') ? path.slice(0, -1) : path)
    // GET /sessions/revoke_all/ reaches GET /sessions/:id/ in the router: hand it to the 405 answer.
    const deferToStatic = async (request: FastifyRequest, reply: FastifyReply) => {
      if (staticPaths.has(trimSlash(request.url.split('?')[0]!))) {
        reply.callNotFound()
        return reply
      }
    }
    app.addHook('onRoute', (route) => {
      const path = trimSlash(route.url)
      const re = new RegExp(
        `^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z_]+/g, '[^/]+')}/?$`,
      )
      const methods = Array.isArray(route.method) ? route.method : [route.method]
      const name = (route.schema as { summary?: string } | undefined)?.summary
      const parametric = path.includes('/:')
      patterns.push({
        re,
        methods: new Set(methods),
        protected: route.config?.protected === true,
        parametric,
        name,
      })
      if (!parametric) staticPaths.add(path)
      else {
        const own = route.onRequest
          ? Array.isArray(route.onRequest)
            ? route.onRequest
            : [route.onRequest]
          : []
        route.onRequest = [deferToStatic, ...own]
      }
    })

    app.setNotFoundHandler(async (request, reply) => {
      const path = request.url.split('?')[0]!
      const found = patterns.filter((p) => p.re.test(path))
      const statics = found.filter((p) => !p.parametric)
      const matches = statics.length ? statics : found
      if (matches.length === 0) return sendError(errors.notFound(), request, reply)
      if (matches.some((p) => p.protected)) {
        try {
          await app.authenticate(request)
        } catch (err) {
          return sendError(err as FastifyError, request, reply)
        }
      }
      const allowed = [...new Set([...matches.flatMap((p) => [...p.methods]), 'OPTIONS'])].sort()
      reply.header('allow', allowed.join(', '))
      if (request.method === 'OPTIONS') {
        // As DRF's metadata answer: what the endpoint is and which media types it speaks.
        return reply.code(200).send({
          name: matches.find((p) => p.name)?.name ?? '',
          renders: ['application/json'],
          parses: ['application/json', 'application/x-www-form-urlencoded'],
        })
      }
      return sendError(
        new ApiError(405, `Method "${request.method}" not allowed.`, 'method_not_allowed'),
        request,
        reply,
      )
    })
  },
  { name: 'errors', dependencies: ['authenticate'] },
)

function jsonMessage(err: Error): string {
  return err.message.replace(/^Unexpected token.*?, /, '').slice(0, 200)
}

export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  const e = error as FastifyError & { validation?: AjvError[]; validationContext?: string }
  if (error instanceof ApiError) {
    if (error.statusCode === 401) reply.header('www-authenticate', WWW_AUTHENTICATE)
    if (error instanceof ThrottledError) reply.header('retry-after', String(error.retryAfterSeconds))
    return sendJson(reply, error.statusCode, error.body())
  }
  if (error instanceof FieldErrors) return sendJson(reply, 400, error.fields)
  if (e.validation) {
    const part = (e.validationContext ?? 'body') as 'body' | 'querystring' | 'params'
    const schema = request.routeOptions.schema?.[part] as ObjectSchema | undefined
    const data = part === 'body' ? request.body : part === 'querystring' ? request.query : request.params
    if (part === 'params') return sendError(errors.notFound(), request, reply)
    return sendJson(reply, 400, fieldErrors(e.validation, data, schema))
  }
  if (isBackendUnavailable(error)) {
    request.log.error({ err: e }, 'a backing store is unavailable')
    return sendError(errors.unavailable(), request, reply)
  }
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return sendError(
        new ApiError(
          415,
          // DRF's exact body, which clients compare: no code.
          `Unsupported media type "${request.headers['content-type'] ?? ''}" in request.`,
        ),
        request,
        reply,
      )
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return sendError(new ApiError(413, 'Request body is too large.', 'payload_too_large'), request, reply)
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return sendError(new ApiError(400, `JSON parse error - ${e.message}`, 'parse_error'), request, reply)
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return sendError(new ApiError(e.statusCode, e.message, 'bad_request'), request, reply)
  }
  request.log.error({ err: e }, 'unhandled error')
  return sendJson(reply, 500, { detail: 'A server error occurred.', code: 'server_error' })
}

/**
 * Sends an error body already serialized: a route's response schema for that status (400 is DRF
 * field errors) must not strip the fields of another error shape, such as a JSON parse error's detail.
 */
function sendJson(reply: FastifyReply, status: number, body: unknown) {
  return reply.code(status).type('application/json').send(JSON.stringify(body))
}

const CLIENT_ERRORS: Record<string, [status: number, reason: string, detail: string, code: string]> = {
  HPE_HEADER_OVERFLOW: [
    431,
    'Request Header Fields Too Large',
    'Request header fields are too large.',
    'header_fields_too_large',
  ],
  ERR_HTTP_REQUEST_TIMEOUT: [
    408,
    'Request Timeout',
    'The request took too long to arrive.',
    'request_timeout',
  ],
}

/**
 * Node answers a request it cannot parse (headers over the size limit, a malformed request line)
 * before Fastify sees it; this writes that answer in the contract's shape too.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: import('node:net').Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const [status, reason, detail, code] = CLIENT_ERRORS[err.code ?? ''] ?? [
    400,
    'Bad Request',
    'The request could not be read.',
    'bad_request',
  ]
  const body = JSON.stringify({ detail, code })
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`,
    )
  }
  socket.destroy(err)
}
