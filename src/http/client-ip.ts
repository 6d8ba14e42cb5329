import type { FastifyRequest } from 'fastify'
import { storableIp } from '../lib/storable.js'

/**
 * The client's address as sessions, audit rows and rate limits use it: request.ip (the address
 * TRUST_PROXY's hops or proxies lead to), when it is a valid IP. A trusted proxy passes on what it
 * received, so X-Forwarded-For may hold anything there ("not-an-ip <script>"); then the nearest
 * valid address on the way (the last trusted proxy, at worst the socket's peer) stands in, so a
 * client cannot get a fresh rate-limit key, or a stored value of its choosing, per request.
 */
export function clientIp(request: Pick<FastifyRequest, 'ip' | 'ips' | 'socket'>): string {
  if (storableIp(request.ip)) return request.ip
  const chain = request.ips ?? []
  for (let i = chain.length - 1; i >= 0; i--) {
    const ip = chain[i]
    if (storableIp(ip)) return ip as string
  }
  return request.socket.remoteAddress ?? 'unknown'
}

/**
 * TRUST_PROXY as Fastify takes it. Fastify 5 turns a bare number into "trust nothing" (a hop
 * count cannot tell a proxy from a client that reached the port directly), so the hops are
 * counted here: with TRUST_PROXY=n the service must be reachable only through those n proxies.
 * Addresses need no such care, and are the better choice where they are known.
 */
export function fastifyTrustProxy(
  trust: false | number | string[],
): false | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trust !== 'number') return trust
  if (trust === 0) return false
  return (_address, hop) => hop < trust
}
