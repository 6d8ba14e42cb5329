import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { type AjvError, fieldErrors, type ObjectSchema } from '../../src/http/drf.js'
import { ApiError, errors, FieldErrors } from '../../src/http/errors.js'
import { isBackendUnavailable } from '../../src/unavailable.js'
import { requestMeta } from '../../src/http/request-meta.js'

const WWW_AUTHENTICATE = 'Bearer realm="api"'

/**
 * One place turns every failure into the contract's bodies. Anything unforeseen is logged and
 * answered 500 without detail; nothing a client sends is meant to reach that branch.
 */
export default fp(
  async (app) => {
    // app.audit is the application's (plugins/app/audit.ts), registered after this cross-cutting
    // plugin and read when an error comes, by which time every plugin has loaded.
    app.setErrorHandler((error: FastifyError, request, reply) => {
      // Every limit hit, whichever route and limit, is one kind of event for operators.
      if (error instanceof ApiError && error.statusCode === 429) {
        const details = { route: request.routeOptions.url ?? null }
        app.audit.record({ type: 'rate_limit.hit', details }, requestMeta(request))
      }
      return sendError(error, request, reply)
    })
  },
  { name: 'error-handler' },
)

export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  const e = error as FastifyError & { validation?: AjvError[]; validationContext?: string }
  if (error instanceof ApiError) {
    if (error.statusCode === 401) reply.header('www-authenticate', WWW_AUTHENTICATE)
    for (const [name, value] of Object.entries(error.headers)) reply.header(name, value)
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
