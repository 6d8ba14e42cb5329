import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { principalOf } from '../plugins/app/authenticate.js'
import { absoluteUrl, checkPage, pageWindow, paginated } from '../src/http/pagination.js'
import { Paginated } from '../schema/wire.js'
import {
  CreateEndpointBody,
  Deleted,
  Delivery,
  DeliveryAttempts,
  DeliveryIdParams,
  DeliveryListQuery,
  Endpoint,
  EndpointIdParams,
  EndpointListQuery,
  EndpointWithSecret,
  PatchEndpointBody,
} from '../schema/webhooks.js'
import { V1 } from './paths.js'
import { protectedRoute } from './protected.js'

const tags = ['admin']
const BASE = `${V1}/admin/webhooks`

/** Superusers register webhook endpoints and watch, and replay, what was sent to them. */
const webhookRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { admin } = app.webhooks

  app.get(`${BASE}/`, {
    ...protectedRoute(tags, {
      summary: 'Webhook endpoints (superuser), newest first; secrets are never shown here',
      querystring: EndpointListQuery,
      response: { 200: Paginated(Endpoint) },
    }),
    handler: async (request) => {
      const page = pageWindow(request.query.page, request.query.page_size)
      const { count, results } = await admin.list(principalOf(request), page.limit, page.offset)
      checkPage(page, count)
      return paginated(absoluteUrl(app.config.publicUrl, request.url), page, count, results)
    },
  })

  app.post(`${BASE}/`, {
    ...protectedRoute(tags, {
      summary: 'Register a webhook endpoint (superuser); the answer carries its secret, shown this once',
      description:
        'Deliveries follow Standard Webhooks: headers webhook-id, webhook-timestamp and webhook-signature (v1, HMAC-SHA256).',
      body: CreateEndpointBody,
      response: { 201: EndpointWithSecret },
    }),
    handler: async (request, reply) =>
      reply.code(201).send(await admin.create(principalOf(request), request.body)),
  })

  app.get(`${BASE}/:id/`, {
    ...protectedRoute(tags, {
      summary: 'One webhook endpoint (superuser)',
      params: EndpointIdParams,
      response: { 200: Endpoint },
    }),
    handler: async (request) => admin.get(principalOf(request), request.params.id),
  })

  app.patch(`${BASE}/:id/`, {
    ...protectedRoute(tags, {
      summary: 'Change a webhook endpoint (superuser): URL, event types, description, enabled',
      params: EndpointIdParams,
      body: PatchEndpointBody,
      response: { 200: Endpoint },
    }),
    handler: async (request) => admin.update(principalOf(request), request.params.id, request.body),
  })

  app.delete(`${BASE}/:id/`, {
    ...protectedRoute(tags, {
      summary: 'Delete a webhook endpoint with its deliveries (superuser)',
      params: EndpointIdParams,
      response: { 204: Deleted },
    }),
    handler: async (request, reply) => {
      await admin.remove(principalOf(request), request.params.id)
      return reply.code(204).send(null)
    },
  })

  app.post(`${BASE}/:id/rotate-secret/`, {
    ...protectedRoute(tags, {
      summary: 'A new signing secret (superuser), shown this once; the next attempt signs with it',
      params: EndpointIdParams,
      response: { 200: EndpointWithSecret },
    }),
    handler: async (request) => admin.rotateSecret(principalOf(request), request.params.id),
  })

  app.get(`${BASE}/:id/deliveries/`, {
    ...protectedRoute(tags, {
      summary: "An endpoint's deliveries (superuser), newest first",
      params: EndpointIdParams,
      querystring: DeliveryListQuery,
      response: { 200: Paginated(Delivery) },
    }),
    handler: async (request) => {
      const page = pageWindow(request.query.page, request.query.page_size)
      const { count, results } = await admin.deliveries(principalOf(request), request.params.id, {
        status: request.query.status,
        limit: page.limit,
        offset: page.offset,
      })
      checkPage(page, count)
      return paginated(absoluteUrl(app.config.publicUrl, request.url), page, count, results)
    },
  })

  app.get(`${BASE}/deliveries/:id/attempts/`, {
    ...protectedRoute(tags, {
      summary: 'A delivery and each attempt at it (superuser): status, latency, answer excerpt',
      params: DeliveryIdParams,
      response: { 200: DeliveryAttempts },
    }),
    handler: async (request) => admin.attempts(principalOf(request), request.params.id),
  })

  app.post(`${BASE}/deliveries/:id/replay/`, {
    ...protectedRoute(tags, {
      summary: 'Send a delivery again (superuser): a new delivery with the same webhook-id and body',
      params: DeliveryIdParams,
      response: { 201: Delivery },
    }),
    handler: async (request, reply) =>
      reply.code(201).send(await admin.replay(principalOf(request), request.params.id)),
  })
}

export default webhookRoutes
