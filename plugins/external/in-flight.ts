import fp from 'fastify-plugin'

// The process exits after 10 s whatever happens (src/server.ts): leave the rest of that to close.
const MOST_WAIT_MS = 8_000

/**
 * A clean shutdown lets every running handler finish before the database, the store and the
 * audit trail close. Fastify waits for open connections only: a handler whose client has gone
 * (a timeout, a load balancer's retry) would otherwise meet a closed pool, or record its audit
 * event after the trail was written out for the last time.
 */
export default fp(
  async (app) => {
    let running = 0
    let idle: (() => void) | undefined
    const finished = () => {
      running -= 1
      if (running === 0) idle?.()
    }
    // Every route's handler, counted while its promise runs; handlers that answer synchronously
    // are left as they are.
    app.addHook('onRoute', (route) => {
      const handler = route.handler
      route.handler = function (request, reply) {
        const result = handler.call(this, request, reply)
        if (!(result instanceof Promise)) return result
        running += 1
        return result.finally(finished)
      }
    })
    app.addHook('preClose', async () => {
      if (running === 0) return
      await new Promise<void>((resolve) => {
        idle = resolve
        setTimeout(resolve, MOST_WAIT_MS).unref()
      })
    })
  },
  { name: 'in-flight' },
)
