import type { FastifyRequest } from 'fastify'
import { clientIp } from './client-ip.js'

/** Where a request came from, as every event caused by a request records it. */
export interface RequestMeta {
  ip: string | undefined
  userAgent: string | undefined
  /** The request's id (x-request-id), to find its log lines. */
  requestId?: string
  /** The authenticated caller, when the request carried a token. */
  actorId?: number
}

/** Where a request came from, for the events it causes. */
export function requestMeta(request: FastifyRequest): RequestMeta {
  return {
    ip: clientIp(request),
    userAgent: request.headers['user-agent'],
    requestId: request.id,
    actorId: request.principal?.user_id,
  }
}
