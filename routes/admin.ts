import { protectedRoute } from './protected.js'
import { requestMeta } from '../src/http/request-meta.js'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { principalOf } from '../plugins/app/authenticate.js'
import { absoluteUrl, checkPage, pageWindow, paginated, searchTerm } from '../src/http/pagination.js'
import { sessionBody } from '../src/sessions/serializer.js'
import {
  AdminSession,
  AdminSessionQuery,
  IdParams,
  InvalidateAllResponse,
  Paginated,
  RevokeSessionResponse,
} from '../schema/wire.js'
import { aliasMarks, V1 } from './paths.js'

const tags = ['admin']

/** The operator API: every session in the operator's scope, and the global kill switch. */
const adminRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { sessions } = app

  app.get(`${V1}/admin/sessions/`, {
    ...protectedRoute(tags, {
      summary: "Sessions of all users (staff; a tenant's operator sees their tenant only)",
      description: 'Filters: client_type, is_active, user_id; search on username, device name and IP.',
      querystring: AdminSessionQuery,
      response: { 200: Paginated(AdminSession) },
    }),
    handler: async (request) => {
      const q = request.query
      const page = pageWindow(q.page, q.page_size)
      const { count, rows } = await sessions.adminList(principalOf(request), {
        clientType: q.client_type,
        isActive: q.is_active,
        userId: q.user_id,
        search: searchTerm(q.search),
        limit: page.limit,
        offset: page.offset,
      })
      checkPage(page, count)
      const sid = principalOf(request).sid
      const results = rows.map((row) => ({ ...sessionBody(row, sid), username: row.username }))
      return paginated(absoluteUrl(app.config.publicUrl, request.url), page, count, results)
    },
  })

  app.post(`${V1}/admin/sessions/:id/revoke/`, {
    ...protectedRoute(tags, {
      summary: 'Revoke any session in scope (staff): its tokens stop at once',
      params: IdParams,
      response: { 200: RevokeSessionResponse },
    }),
    handler: async (request) =>
      sessions.adminRevoke(principalOf(request), request.params.id, requestMeta(request)),
  })

  const invalidateAll = [`${V1}/admin/invalidate-all-tokens/`, '/admin/invalidate-all-tokens/']
  for (const url of invalidateAll) {
    app.post(url, {
      ...protectedRoute(tags, {
        ...aliasMarks(url, invalidateAll),
        summary: 'Invalidate every token of every user (superuser); new logins keep working',
        response: { 200: InvalidateAllResponse },
      }),
      handler: async (request) => sessions.invalidateAll(principalOf(request), requestMeta(request)),
    })
  }
}

export default adminRoutes
