import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { absoluteUrl, checkPage, pageWindow, paginated, searchTerm } from '../src/http/pagination.js'
import { userBody } from '../src/http/serializers.js'
import { UserService } from '../src/accounts/user-service.js'
import {
  CreateUserBody,
  IdParams,
  Paginated,
  PasswordChangeBody,
  PasswordChangeResponse,
  PatchUserBody,
  protectedResponses,
  User,
  UserListQuery,
} from '../schema/wire.js'
import { V1 } from './paths.js'

const tags = ['users']
const security = [{ bearerAuth: [] }]

/** Operators manage the users of their tenant; every user may read themself and change their password. */
const usersRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const authenticated = { onRequest: app.authenticate, config: { protected: true } }
  const users = new UserService({
    repos: app.repos,
    revocations: app.revocations,
    hasher: app.hasher,
    throttle: app.throttle,
    currentUser: (principal) => app.auth.currentUser(principal),
  })

  app.get(`${V1}/users/`, {
    ...authenticated,
    schema: {
      tags,
      summary: "List users (staff): a tenant's operator sees their tenant, a superuser everybody",
      security,
      querystring: UserListQuery,
      response: { 200: Paginated(User), ...protectedResponses },
    },
    handler: async (request) => {
      const page = pageWindow(request.query.page, request.query.page_size)
      const { count, rows } = await users.list(request.principal!, {
        search: searchTerm(request.query.search),
        limit: page.limit,
        offset: page.offset,
      })
      checkPage(page, count)
      return paginated(absoluteUrl(request), page, count, rows.map(userBody))
    },
  })

  app.post(`${V1}/users/`, {
    ...authenticated,
    schema: {
      tags,
      summary: 'Create a user (staff); only a superuser may choose the tenant',
      security,
      body: CreateUserBody,
      response: { 201: User, ...protectedResponses },
    },
    handler: async (request, reply) => {
      const user = await users.create(request.principal!, request.body)
      return reply.code(201).send(userBody(user))
    },
  })

  app.post(`${V1}/users/me/password/`, {
    ...authenticated,
    schema: {
      tags,
      summary: "Change the caller's password; every other session of the caller is revoked",
      security,
      body: PasswordChangeBody,
      response: { 200: PasswordChangeResponse, ...protectedResponses },
    },
    handler: async (request) =>
      users.changePassword(
        request.principal!,
        request.body.old_password,
        request.body.new_password,
        request.ip,
      ),
  })

  app.get(`${V1}/users/:id/`, {
    ...authenticated,
    schema: {
      tags,
      summary: 'One user: yourself, or (staff) a user of your tenant',
      security,
      params: IdParams,
      response: { 200: User, ...protectedResponses },
    },
    handler: async (request) => userBody(await users.get(request.principal!, request.params.id)),
  })

  app.patch(`${V1}/users/:id/`, {
    ...authenticated,
    schema: {
      tags,
      summary: 'Change a user (staff); deactivating or expiring stops their tokens at once',
      security,
      params: IdParams,
      body: PatchUserBody,
      response: { 200: User, ...protectedResponses },
    },
    handler: async (request) =>
      userBody(await users.update(request.principal!, request.params.id, request.body)),
  })
}

export default usersRoutes
