import fp from 'fastify-plugin'
import { keyEncryptionKeyOf } from '../../src/keys/development.js'
import { WebhookAdmin } from '../../src/webhooks/admin.js'
import type { DeliveryRepository } from '../../src/webhooks/deliveries.js'
import { Deliverer } from '../../src/webhooks/deliverer.js'
import type { EndpointRepository } from '../../src/webhooks/endpoints.js'

export interface Webhooks {
  endpoints: EndpointRepository
  deliveries: DeliveryRepository
  /** Sends the outbox (src/webhooks/deliverer.ts). */
  deliverer: Deliverer
  /** What the superusers' routes call. */
  admin: WebhookAdmin
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Webhooks for security events (src/webhooks/). */
    webhooks: Webhooks
  }
}

/**
 * Webhooks: each audit batch queues its deliveries in its own transaction (an audit sink), and
 * the deliverer sends them once it committed. Registered after `audit`, so its onClose runs
 * first: the deliverer stops, then the audit trail's last batch still queues its deliveries,
 * which the next start sends.
 */
export default fp(
  async (app) => {
    const { config } = app
    // Read when first needed: outside production this may generate the key file in DATA_DIR.
    const encryptionKey = () => keyEncryptionKeyOf(config)
    const { webhookEndpoints: endpoints, webhookDeliveries: deliveries } = app.repos
    const deliverer = new Deliverer(deliveries, endpoints, {
      retryMs: config.webhookRetrySeconds * 1000,
      timeoutMs: config.webhookTimeoutMs,
      allowPrivate: config.webhooksAllowPrivate,
      encryptionKey,
      onAttemptFailed: (delivery, outcome) =>
        app.log.warn(
          {
            webhook: delivery.endpointId,
            delivery: delivery.id,
            attempt: delivery.attempts,
            status: outcome.statusCode,
            error: outcome.error,
          },
          'webhook not delivered; will retry unless given up',
        ),
      onEndpointGone: (id) => app.log.warn({ webhook: id }, 'webhook receiver answered 410 Gone: disabled'),
    })
    const admin = new WebhookAdmin({
      currentUser: app.currentUser,
      endpoints,
      deliveries,
      deliverer,
      allowPrivate: config.webhooksAllowPrivate,
      encryptionKey,
    })

    // The sink queues deliveries inside the batch's transaction; only a batch that queued some
    // wakes the deliverer, so an audit log without endpoints costs one small select per batch.
    let queued = false
    app.audit.addSink({
      write: async (tx, events) => {
        if ((await deliveries.enqueue(tx, events)) > 0) queued = true
      },
      committed: () => {
        if (!queued) return
        queued = false
        deliverer.kick()
      },
    })
    app.decorate('webhooks', { endpoints, deliveries, deliverer, admin })
    app.addHook('onReady', async () => deliverer.start())
    app.addHook('onClose', () => deliverer.stop())
  },
  { name: 'webhooks', dependencies: ['config', 'database', 'audit', 'services'] },
)
