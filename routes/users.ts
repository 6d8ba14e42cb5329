import { requestMeta } from '../src/http/request-meta.js'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { principalOf } from '../plugins/app/authenticate.js'
import { absoluteUrl, checkPage, pageWindow, paginated, searchTerm } from '../src/http/pagination.js'
import { userBody } from '../src/accounts/serializer.js'
import {
  CreateUserBody,
  IdParams,
  Paginated,
  PasswordChangeBody,
  PasswordChangeResponse,
  PatchUserBody,
  User,
  UserListQuery,
} from '../schema/wire.js'
import { V1 } from './paths.js'
import { protectedRoute } from './protected.js'

const tags = ['users']

/** Operators manage the users of their tenant; every user may read themself and change their password. */
const usersRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { users } = app

  app.get(`${V1}/users/`, {
    ...protectedRoute(tags, {
      summary: "List users (staff): a tenant's operator sees their tenant, a superuser everybody",
      querystring: UserListQuery,
      response: { 200: Paginated(User) },
    }),
    handler: async (request) => {
      const page = pageWindow(request.query.page, request.query.page_size)
      const { count, rows } = await users.list(principalOf(request), {
        search: searchTerm(request.query.search),
        limit: page.limit,
        offset: page.offset,
      })
      checkPage(page, count)
      return paginated(absoluteUrl(app.config.publicUrl, request.url), page, count, rows.map(userBody))
    },
  })

  app.post(`${V1}/users/`, {
    ...protectedRoute(tags, {
      summary: 'Create a user (staff); only a superuser may choose the tenant',
      body: CreateUserBody,
      response: { 201: User },
    }),
    handler: async (request, reply) => {
      const user = await users.create(principalOf(request), request.body, requestMeta(request))
      return reply.code(201).send(userBody(user))
    },
  })

  app.post(`${V1}/users/me/password/`, {
    ...protectedRoute(tags, {
      summary: "Change the caller's password; every other session of the caller is revoked",
      body: PasswordChangeBody,
      response: { 200: PasswordChangeResponse },
    }),
    handler: async (request) =>
      users.changePassword(
        principalOf(request),
        request.body.old_password,
        request.body.new_password,
        requestMeta(request),
      ),
  })

  app.get(`${V1}/users/:id/`, {
    ...protectedRoute(tags, {
      summary: 'One user: yourself, or (staff) a user of your tenant',
      params: IdParams,
      response: { 200: User },
    }),
    handler: async (request) => userBody(await users.get(principalOf(request), request.params.id)),
  })

  app.patch(`${V1}/users/:id/`, {
    ...protectedRoute(tags, {
      summary: 'Change a user (staff); deactivating or expiring stops their tokens at once',
      params: IdParams,
      body: PatchUserBody,
      response: { 200: User },
    }),
    handler: async (request) =>
      userBody(
        await users.update(principalOf(request), request.params.id, request.body, requestMeta(request)),
      ),
  })
}

export default usersRoutes
