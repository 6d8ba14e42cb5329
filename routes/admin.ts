import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'

/** Placeholder: filled in by the sessions/users/tenants work (issue 3). */
const adminRoutes: FastifyPluginAsyncTypebox = async () => {}

export default adminRoutes
