import fastifyCookie from '@fastify/cookie'
import type { FastifyRequest, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import { type CookieState, cookieHooks, type TransportInput } from '../../src/cookies/hooks.js'
import { type CookieCodec, CookieJar } from '../../src/cookies/jar.js'
import { cookieSettings } from '../../src/cookies/settings.js'

declare module 'fastify' {
  interface FastifyInstance {
    cookieMode: {
      jar: CookieJar
      /** A two-factor step completing a login that asked for cookie mode (routes/mfa.ts). */
      adopt(request: FastifyRequest, input: TransportInput): void
    }
  }
  interface FastifyRequest {
    tokenCookie: CookieState | null
  }
  interface FastifyContextConfig {
    /**
     * The route takes part in cookie mode (src/cookies/): `login` may issue the cookies, `mfa`
     * issues them when its login asked, `refresh` reads and renews them, `logout` reads and clears
     * them, `signout` (a Bearer logout of every session) clears them when they come along.
     */
    tokenCookie?: 'login' | 'mfa' | 'refresh' | 'logout' | 'signout'
  }
}

/**
 * Cookie mode for browsers (README "Cookie mode"). Declared per route as
 * `config: { tokenCookie }`; this plugin's onRoute hook adds the route's hooks, so body mode on
 * those routes pays one property read and every other route nothing.
 */
export default fp(
  async (app) => {
    // @fastify/cookie in a scope of its own that holds no route: its parser and serializer
    // without its per-request onSend hook, which would run on every route of the service.
    let codec: CookieCodec | undefined
    await app.register(async (scope) => {
      await scope.register(fastifyCookie, { hook: false })
      codec = {
        parse: (header) => scope.parseCookie(header),
        serialize: (name, value, options) => scope.serializeCookie(name, value, options),
      }
    })
    const jar = new CookieJar(cookieSettings(app.config), codec as CookieCodec)
    const hooks = cookieHooks(jar)
    app.decorate('cookieMode', { jar, adopt: hooks.adopt })
    app.decorateRequest('tokenCookie', null)

    app.addHook('onRoute', (route) => {
      const kind = route.config?.tokenCookie
      if (!kind) return
      if (kind === 'login') {
        append(
          route,
          'preHandler',
          (request: FastifyRequest, _reply: unknown, done: (err?: Error) => void) => {
            try {
              hooks.adopt(request, request.body as TransportInput)
              done()
            } catch (err) {
              done(err as Error)
            }
          },
        )
      }
      if (kind === 'signout') append(route, 'preHandler', hooks.clearAfter)
      if (kind === 'refresh' || kind === 'logout') {
        append(route, 'preValidation', hooks.presentCookie(kind === 'refresh' ? 'renew' : 'revoke'))
        append(route, 'onError', hooks.clearRefused)
      }
      append(route, 'preSerialization', hooks.deliver)
    })
  },
  { name: 'cookies', dependencies: ['config'] },
)

type HookName = 'preValidation' | 'preHandler' | 'preSerialization' | 'onError'

/** Adds `hook` after the route's own hooks of that name. */
function append(route: RouteOptions, name: HookName, hook: unknown): void {
  const existing = (route as unknown as Record<HookName, unknown>)[name]
  const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]
  ;(route as unknown as Record<HookName, unknown>)[name] = [...list, hook]
}
