import { protectedRoute } from './protected.js'
import { requestMeta } from '../src/http/request-meta.js'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { principalOf } from '../plugins/app/authenticate.js'
import { FieldErrors } from '../src/http/errors.js'
import { serializedUser, type userBody } from '../src/accounts/serializer.js'
import {
  errorResponses,
  LogoutAllResponse,
  LogoutBody,
  LogoutResponse,
  TestAuthResponse,
  User,
} from '../schema/wire.js'
import { aliasMarks, paths } from './paths.js'

/** Logout, logout everywhere, the current user, and the seeds' auth test route. */
const accountRoutes: FastifyPluginAsyncTypebox = async (app) => {
  for (const url of paths.logout) {
    app.post(url, {
      schema: {
        ...aliasMarks(url, paths.logout),
        tags: ['tokens'],
        summary: "Log out: revoke this login's session and, when a Bearer is sent, that access token",
        body: LogoutBody,
        response: { 200: LogoutResponse, ...errorResponses },
      },
      handler: async (request) => {
        const refresh = request.body.refresh || request.body.refresh_token
        if (!refresh) throw new FieldErrors({ refresh: ['This field is required.'] })
        return app.tokens.logout(refresh, request.headers.authorization, requestMeta(request))
      },
    })
  }

  app.post(paths.logoutAll[0], {
    ...protectedRoute(['tokens'], {
      summary: 'Log out from every device: revokes every session and token of the caller',
      response: { 200: LogoutAllResponse },
    }),
    handler: async (request) => app.tokens.logoutAll(principalOf(request), requestMeta(request)),
  })

  for (const url of paths.me) {
    app.get(url, {
      ...protectedRoute(['users'], {
        ...aliasMarks(url, paths.me),
        summary: 'The current user, with profile and tenant',
        response: { 200: User },
      }),
      handler: async (request, reply) => {
        const user = await app.currentUser.of(principalOf(request), true)
        const json = serializedUser(user, (body) => reply.serialize(body) as string)
        // Already the 200 schema's serialization (a string is sent as it is): typed as that body.
        return reply
          .type('application/json; charset=utf-8')
          .send(json as unknown as ReturnType<typeof userBody>)
      },
    })
  }

  // Answers from the token alone (no database row): the cheapest protected route.
  const testAuth = {
    ...protectedRoute(['users'], {
      summary: 'Checks that JWT authentication works',
      response: { 200: TestAuthResponse },
    }),
  }
  const whoami = async (request: FastifyRequest) => ({
    message: 'JWT authentication is working',
    authenticated: true,
    user: await app.currentUser.username(principalOf(request).user_id),
  })
  app.get(paths.testAuth[0], { ...testAuth, handler: whoami })
  app.post(paths.testAuth[0], { ...testAuth, handler: whoami })
}

export default accountRoutes
