import { requestMeta } from '../src/http/request-meta.js'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { principalOf } from '../plugins/app/authenticate.js'
import { sessionBody } from '../src/sessions/serializer.js'
import {
  IdParams,
  RevokeAllBody,
  RevokeAllResponse,
  RevokeSessionResponse,
  Session,
  SessionListQuery,
} from '../schema/wire.js'
import { Type } from '@sinclair/typebox'
import { V1 } from './paths.js'
import { protectedRoute } from './protected.js'

const tags = ['sessions']

/** The caller's own device sessions: list, inspect, revoke one, revoke all. */
const sessionsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { sessions } = app

  app.get(`${V1}/sessions/`, {
    ...protectedRoute(tags, {
      summary: "The caller's active sessions; include_inactive=true adds revoked and expired ones",
      querystring: SessionListQuery,
      response: { 200: Type.Array(Session) },
    }),
    handler: async (request) => {
      const principal = principalOf(request)
      const rows = await sessions.list(principal, request.query.include_inactive === true)
      return rows.map((s) => sessionBody(s, principal.sid))
    },
  })

  app.post(`${V1}/sessions/revoke_all/`, {
    ...protectedRoute(tags, {
      summary: "Revoke every session of the caller; keep_current spares the request's own",
      body: RevokeAllBody,
      response: { 200: RevokeAllResponse },
    }),
    handler: async (request) =>
      sessions.revokeAll(principalOf(request), request.body.keep_current === true, requestMeta(request)),
  })

  app.get(`${V1}/sessions/:id/`, {
    ...protectedRoute(tags, {
      summary: "One of the caller's sessions",
      params: IdParams,
      response: { 200: Session },
    }),
    handler: async (request) => {
      const principal = principalOf(request)
      return sessionBody(await sessions.own(principal, request.params.id), principal.sid)
    },
  })

  app.post(`${V1}/sessions/:id/revoke/`, {
    ...protectedRoute(tags, {
      summary: "Revoke one of the caller's sessions: its access and refresh tokens stop at once",
      params: IdParams,
      response: { 200: RevokeSessionResponse },
    }),
    handler: async (request) =>
      sessions.revokeOwn(principalOf(request), request.params.id, requestMeta(request)),
  })
}

export default sessionsRoutes
