import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { principalOf } from '../plugins/app/authenticate.js'
import { AUDIT_EVENT_TYPES, AuditEventTypes, AuditPage, AuditQuery } from '../schema/audit.js'
import type { AuditRow } from '../src/audit/audit-repository.js'
import { absoluteUrl } from '../src/http/pagination.js'
import { V1 } from './paths.js'
import { protectedRoute } from './protected.js'

/** The audit trail for staff: who did what, from where, and what the service did about it. */
const auditRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(`${V1}/admin/audit/`, {
    ...protectedRoute(['admin'], {
      summary: "Security events, newest first (staff; a tenant's operator sees their tenant only)",
      description:
        "Filters: user_id, type (comma-separated), ip, since, until. Page with `cursor` = the previous answer's `next_cursor`.",
      querystring: AuditQuery,
      response: { 200: AuditPage },
    }),
    handler: async (request) => {
      const q = request.query
      const { rows, nextCursor } = await app.auditReader.list(principalOf(request), {
        userId: q.user_id,
        type: q.type,
        ip: q.ip,
        since: q.since,
        until: q.until,
        cursor: q.cursor,
        pageSize: q.page_size,
      })
      let next: string | null = null
      if (nextCursor) {
        const url = new URL(absoluteUrl(app.config.publicUrl, request.url))
        url.searchParams.set('cursor', nextCursor)
        next = url.toString()
      }
      return { results: rows.map(entryBody), next, next_cursor: nextCursor }
    },
  })

  app.get(`${V1}/admin/audit/event-types/`, {
    ...protectedRoute(['admin'], {
      summary: 'Every audit event type (staff): the names the audit filter and webhook subscriptions take',
      response: { 200: AuditEventTypes },
    }),
    handler: async (request) => {
      await app.currentUser.operator(principalOf(request))
      return { event_types: [...AUDIT_EVENT_TYPES] }
    },
  })
}

function entryBody(row: AuditRow) {
  return {
    id: row.id,
    at: row.at.toISOString(),
    type: row.type,
    user_id: row.userId,
    username: row.username,
    session_id: row.sessionId,
    actor_id: row.actorId,
    actor_username: row.actorUsername,
    client_id: row.clientId,
    ip: row.ip,
    user_agent: row.userAgent,
    request_id: row.requestId,
    details: row.details ?? {},
  }
}

export default auditRoutes
