import { channel } from 'node:diagnostics_channel'
import type { FastifyInstance, preHandlerAsyncHookHandler, RouteOptions } from 'fastify'

/**
 * Which routes ask for the kit (`config: { authjwt: true }`), and whether each got its check.
 *
 * Fastify's onRoute hook sees only the routes added after it, so a kit registered without
 * `await`, or after a routes plugin, would leave earlier routes open with no word said. Loading
 * this module therefore watches every Fastify instance created afterwards from its first line (the
 * `fastify.initialization` channel Fastify publishes for instrumentation): each route that asks
 * for the kit is recorded, a kit registered later guards the recorded routes in its scope, and
 * `ready()` fails naming any route no kit guards (one in a sibling encapsulated context, or with
 * no kit at all). A route's hooks are assembled only at `ready()`, so a check added to a route's
 * options before then is in place for its first request.
 */

/** Marks the kit's check, so that every copy of this module (source and build) recognises it. */
const GUARD = Symbol.for('authjwt.kit.check')

interface AskingRoute {
  /** The (encapsulated) instance the route was added to. */
  instance: object
  options: RouteOptions
}

/** The routes asking for the kit, by the root instance they were added under. */
const asking = new WeakMap<object, AskingRoute[]>()

channel('fastify.initialization').subscribe((message) => {
  const root = (message as { fastify: FastifyInstance }).fastify
  const routes: AskingRoute[] = []
  asking.set(root, routes)
  root.addHook('onRoute', function (this: FastifyInstance, options) {
    if (options.config?.authjwt) routes.push({ instance: this, options })
  })
  root.addHook('onReady', async () => {
    const open = routes.filter((route) => !guarded(route.options))
    if (open.length === 0) return
    const names = open.map(({ options }) => `${[options.method].flat().join(',')} ${options.url}`)
    throw new Error(
      `authjwt: ${names.join(', ')} ${open.length === 1 ? 'asks' : 'ask'} for config.authjwt, but no authjwt ` +
        'plugin is registered in that context or a parent of it, so nothing would check its tokens',
    )
  })
})

/**
 * Puts `check` first in the preHandlers of every route in `app`'s scope that asks for the kit:
 * those already added (recorded since the root instance was created) and those to come. Answers
 * false when the root instance was created before this module was loaded, so that routes added
 * before now were not recorded and cannot be checked.
 */
export function guardRoutes(app: FastifyInstance, check: preHandlerAsyncHookHandler): boolean {
  Object.defineProperty(check, GUARD, { value: true })
  const recorded = recordedUnder(app)
  for (const route of recorded ?? []) {
    if (isWithin(route.instance, app)) addCheck(route.options, check)
  }
  app.addHook('onRoute', (options) => {
    if (options.config?.authjwt) addCheck(options, check)
  })
  return recorded !== undefined
}

function addCheck(options: RouteOptions, check: preHandlerAsyncHookHandler): void {
  const existing = [options.preHandler ?? []].flat()
  if (existing.includes(check)) return
  options.preHandler = [check, ...existing]
}

function guarded(options: RouteOptions): boolean {
  return [options.preHandler ?? []].flat().some((hook) => GUARD in hook)
}

/** An encapsulated Fastify instance inherits from its parent's: the chain leads to the root. */
function recordedUnder(app: object): AskingRoute[] | undefined {
  for (let at: object | null = app; at; at = Object.getPrototypeOf(at)) {
    const routes = asking.get(at)
    if (routes) return routes
  }
  return undefined
}

function isWithin(instance: object, scope: object): boolean {
  for (let at: object | null = instance; at; at = Object.getPrototypeOf(at)) {
    if (at === scope) return true
  }
  return false
}
