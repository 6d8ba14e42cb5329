import { requestMeta } from '../src/http/request-meta.js'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import {
  Empty,
  errorResponses,
  LoginBody,
  LoginBodyDocumented,
  LoginResponse,
  RefreshBody,
  RefreshResponse,
  VerifyBody,
} from '../schema/wire.js'
import { aliasMarks, paths } from './paths.js'

const tags = ['tokens']

/**
 * When each refresh request arrived, to tell a concurrent refresh that lost from a replay.
 * reply.elapsedTime cannot say: Fastify only clocks replies when a logger or onResponse hook is on.
 */
const arrivedAt = new WeakMap<object, number>()

/** SimpleJWT's four token views, at the canonical path and every alias. */
const tokenRoutes: FastifyPluginAsyncTypebox = async (app) => {
  for (const url of paths.login) {
    app.post(url, {
      schema: {
        ...aliasMarks(url, paths.login),
        tags,
        summary: 'Log in: obtain an access and refresh token pair',
        description:
          '`username` may be a username or an e-mail; `login` and `email` are accepted for it. Each login is a device session.',
        body: LoginBody,
        // What the document shows: the account by one of username, email or login (see preValidation).
        'x-documented-body': LoginBodyDocumented,
        response: {
          200: LoginResponse,
          ...errorResponses,
          401: {
            ...errorResponses[401],
            example: { detail: 'No active account found with the given credentials' },
          },
        },
      },
      preValidation: async (request) => {
        // `login` and `email` are the seeds' names for the same field.
        const body = request.body as Record<string, unknown> | undefined
        if (body && typeof body === 'object' && !Array.isArray(body) && body.username === undefined) {
          const alias = body.login ?? body.email
          if (alias !== undefined) body.username = typeof alias === 'string' ? alias.trim() : alias
        }
      },
      handler: async (request) => app.tokens.login(request.body, requestMeta(request)),
    })
  }

  for (const url of paths.refresh) {
    app.post(url, {
      schema: {
        ...aliasMarks(url, paths.refresh),
        tags,
        summary: 'Refresh: a new access token (and, with rotation, a new refresh token)',
        description:
          'With rotation on, the presented refresh token stops working. Presenting it again later is reuse and revokes the session.',
        body: RefreshBody,
        response: { 200: RefreshResponse, ...errorResponses },
      },
      // Its 401 answers count as refused refreshes (plugins/app/metrics.ts).
      config: { refreshes: true },
      onRequest: async (request) => {
        arrivedAt.set(request, Date.now())
      },
      handler: async (request) =>
        app.tokens.refresh(request.body.refresh, arrivedAt.get(request) ?? Date.now(), requestMeta(request)),
    })
  }

  for (const url of paths.verify) {
    app.post(url, {
      schema: {
        ...aliasMarks(url, paths.verify),
        tags,
        summary: 'Verify a token (access or refresh); a revoked token is 401 token_revoked',
        body: VerifyBody,
        response: { 200: Empty, ...errorResponses },
      },
      handler: async (request) => app.tokens.verify(request.body.token),
    })
  }

  for (const url of paths.blacklist) {
    app.post(url, {
      schema: {
        ...aliasMarks(url, paths.blacklist),
        tags,
        summary: "Blacklist a refresh token, revoking that login's session",
        body: RefreshBody,
        response: { 200: Empty, ...errorResponses },
      },
      handler: async (request) => app.tokens.blacklist(request.body.refresh, requestMeta(request)),
    })
  }
}

export default tokenRoutes
