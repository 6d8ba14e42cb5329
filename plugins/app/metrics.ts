import fp from 'fastify-plugin'
import { Metrics, type RouteMetrics } from '../../src/metrics/metrics.js'
import { MetricsServer } from '../../src/metrics/server.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Prometheus metrics (src/metrics/); null when neither METRICS_PORT nor METRICS_TOKEN is set. */
    metrics: Metrics | null
    /** The METRICS_PORT server once listening (its `port` is the bound one); null otherwise. */
    metricsServer: MetricsServer | null
  }
  interface FastifyContextConfig {
    /** The route renews tokens: its 401 answers count as refused refreshes. */
    refreshes?: boolean
    /** The route's request-histogram series, set by the metrics plugin's onRoute hook. */
    metricsRoute?: RouteMetrics
  }
}

/**
 * Prometheus metrics, on when METRICS_PORT or METRICS_TOKEN is set; otherwise nothing here runs
 * per request. Each route's series are made when the route is registered (onRoute), so a request
 * costs one onResponse hook that adds to numbers. The revocation store is replaced by a timed
 * wrapper before the services take it; security events come from the audit trail's listener.
 */
export default fp(
  async (app) => {
    const { config } = app
    if (config.metricsPort === 0 && config.metricsToken === undefined) {
      app.decorate('metrics', null)
      app.decorate('metricsServer', null)
      return
    }
    const { database, audit } = app
    const metrics = new Metrics({
      // The outbox's owner counts it (src/webhooks/deliveries.ts): no query on its table here.
      webhookBacklog: () => app.repos.webhookDeliveries.backlog(),
      pool: database.pool ? () => database.pool?.() : undefined,
      audit: () => ({ buffered: audit.pending, dropped: audit.dropped, refused: audit.refused }),
      onCollectError: (err, metric) => app.log.warn({ err, metric }, 'a metric could not be read'),
    })
    app.decorate('metrics', metrics)
    // A decoration is a plain property: the services (registered next) take the timed store.
    app.revocationStore = metrics.instrument(app.revocationStore)
    audit.onRecord((record) => metrics.recorded(record))

    app.addHook('onRoute', (route) => {
      route.config = {
        ...route.config,
        metricsRoute: metrics.route(route.url, route.config?.refreshes === true),
      }
    })
    // A callback hook: no promise per request. 404 and 405 answers have no route: one series.
    app.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.config?.metricsRoute ?? metrics.unmatched
      metrics.responded(route, request.method, reply.statusCode, reply.elapsedTime / 1000, request.id)
      done()
    })

    if (config.metricsPort > 0) {
      const server = new MetricsServer(metrics, (err) => app.log.error({ err }, 'metrics could not be read'))
      app.decorate('metricsServer', server)
      app.addHook('onReady', async () => {
        const port = await server.listen(config.metricsPort, config.host)
        app.log.info({ port, host: config.host }, 'metrics served on their own port')
      })
      app.addHook('onClose', () => server.close())
    } else {
      app.decorate('metricsServer', null)
    }
  },
  { name: 'metrics', dependencies: ['config', 'database', 'revocation-store', 'audit'] },
)
