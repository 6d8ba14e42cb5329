import fp from 'fastify-plugin'
import './types.js'

/** Placeholder: the operator console at /admin/ (issue 3). */
export default fp(async () => {}, { name: 'console' })
