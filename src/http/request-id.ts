import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'

export const REQUEST_ID_HEADER = 'x-request-id'

/** An id a proxy may hand us: short, and nothing a log line or a header could be broken with. */
export const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * Fastify's genReqId. Behind a trusted proxy (TRUST_PROXY) the proxy's `x-request-id` is kept, when
 * it is safe, so one id follows the request through both logs; otherwise, and from any client
 * reaching us directly, a new UUID. (Fastify's own requestIdHeader would take any value as it is.)
 */
export function requestIdGenerator(trustProxy: boolean): (req: IncomingMessage) => string {
  if (!trustProxy) return () => randomUUID()
  return (req) => {
    const given = req.headers[REQUEST_ID_HEADER]
    return typeof given === 'string' && SAFE_REQUEST_ID.test(given) ? given : randomUUID()
  }
}

/** Every answer names its request, errors and 404s included: set before anything can fail. */
export function echoRequestId(
  request: FastifyRequest,
  reply: FastifyReply,
  done: HookHandlerDoneFunction,
): void {
  reply.header(REQUEST_ID_HEADER, request.id)
  done()
}
