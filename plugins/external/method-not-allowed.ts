import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { ApiError, errors } from '../../src/http/errors.js'
import { runFirst } from '../app/authenticate.js'
import { sendError } from './error-handler.js'

/**
 * Django's router, emulated: a path that exists under another method answers 405 with `Allow`
 * (after authentication, as DRF does), OPTIONS answers DRF's metadata, and any other path 404.
 */
export default fp(
  async (app) => {
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
      else runFirst(route, deferToStatic)
    })

    app.setNotFoundHandler(async (request, reply) => {
      const path = request.url.split('?')[0]!
      const found = patterns.filter((p) => p.re.test(path))
      const statics = found.filter((p) => !p.parametric)
      const matches = statics.length ? statics : found
      if (matches.length === 0) return sendError(errors.notFound(), request, reply)
      if (matches.some((p) => p.protected)) {
        // app.authenticate is the application's (plugins/app/authenticate.ts), loaded after this.
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
  { name: 'method-not-allowed', dependencies: ['error-handler'] },
)
