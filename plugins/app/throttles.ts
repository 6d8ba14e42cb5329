import rateLimit, { normalizeIP } from '@fastify/rate-limit'
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { clientIp } from '../../src/http/client-ip.js'
import { errors } from '../../src/http/errors.js'
import { allowList, type Rate, type ThrottleScope } from '../../src/http/throttle-rates.js'
import { throttleStore } from '../../src/revocation/throttle-store.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's group for THROTTLE_SCOPE_<GROUP>; false: no request throttle (health, metrics). */
    throttle?: ThrottleScope | false
  }
}

type Check = (
  request: FastifyRequest,
) => Promise<{ isAllowed: boolean; isExceeded?: boolean; ttlInSeconds?: number }>

/**
 * DRF's throttles on @fastify/rate-limit (settings: src/http/throttle-rates.ts). As in DRF, a
 * request passes every throttle that applies and waits for the slowest: the anonymous rate (per
 * client address) or the user rate (per user id, or per configured service), and on a route of a
 * group its scope's rate (per user, else per address), one counter across the group's paths,
 * aliases and spellings. Counters live in the revocation store (src/revocation/throttle-store.ts), so
 * every instance on one Redis or cluster shares them. Addresses in THROTTLE_ALLOW pass untouched.
 *
 * The checks are the plugin's limiters (`createRateLimit`) run from one hook of ours, not its
 * route config: the plugin runs at most one of its own hooks per request, and a route's groupId
 * would be appended to the anonymous and user keys too, splitting what must be one counter.
 *
 * With every throttle off nothing is registered and no route gets a hook: a request pays nothing.
 * The login account budget is not here but in src/auth/throttle.ts (it says why).
 */
export default fp(
  async (app) => {
    const { anon, user, scopes, allow } = app.config.throttles
    if (!anon && !user && Object.keys(scopes).length === 0) return
    const allowed = allowList(allow)
    await app.register(rateLimit, {
      global: false,
      store: throttleStore(app.revocationStore),
      // A store that cannot count answers 503, as for the login budget.
      skipOnError: false,
      allowList: allow.length > 0 && allowed ? (request) => allowed(clientIp(request)) : undefined,
    })

    // DRF's ident: IPv6 clients by their /64, as the plugin's default key does.
    const address = (request: FastifyRequest) => `ip:${normalizeIP(clientIp(request))}`
    const caller = (request: FastifyRequest) =>
      request.principal
        ? `u:${request.principal.user_id}`
        : request.client !== null
          ? `c:${request.client}`
          : undefined
    const limiter = (rate: Rate, key: (request: FastifyRequest) => string): Check =>
      app.createRateLimit({ max: rate.max, timeWindow: rate.windowMs, keyGenerator: key })

    const anonCheck = anon && limiter(anon, (request) => `t:anon:${address(request)}`)
    const userCheck = user && limiter(user, (request) => `t:user:${caller(request)}`)
    const byDefault: Check | undefined =
      anonCheck || userCheck
        ? async (request) => {
            const check = caller(request) ? userCheck : anonCheck
            return check ? check(request) : { isAllowed: true }
          }
        : undefined
    const byScope: Partial<Record<ThrottleScope, Check>> = {}
    for (const [scope, rate] of Object.entries(scopes) as [ThrottleScope, Rate][]) {
      byScope[scope] = limiter(rate, (request) => `t:${scope}:${caller(request) ?? address(request)}`)
    }

    app.addHook('onRoute', (route) => {
      const group = route.config?.throttle
      if (group === false) return
      const checks = [group ? byScope[group] : undefined, byDefault].filter((c) => c !== undefined)
      if (checks.length === 0) return
      const throttle: onRequestAsyncHookHandler = async (request) => {
        const results = await Promise.all(checks.map((check) => check(request)))
        let wait = 0
        for (const r of results)
          if (!r.isAllowed && r.isExceeded) wait = Math.max(wait, r.ttlInSeconds ?? 1, 1)
        if (wait > 0) throw errors.throttled(wait)
      }
      // Last among the route's onRequest hooks: after authentication (plugins/app/authenticate.ts),
      // whose caller keys the user and scope rates; before the body is read, so a flood is cheap.
      const own = route.onRequest
        ? Array.isArray(route.onRequest)
          ? route.onRequest
          : [route.onRequest]
        : []
      route.onRequest = [...own, throttle]
    })
  },
  { name: 'throttles', dependencies: ['config', 'revocation-store', 'authenticate'] },
)
