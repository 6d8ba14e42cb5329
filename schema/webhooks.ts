import { type TSchema, Type } from '@sinclair/typebox'
import { AUDIT_EVENT_TYPES } from './audit.js'

/** The webhooks API's bodies (routes/webhooks.ts). A secret appears in EndpointWithSecret only. */

/** pending: to be sent (or retried); delivered: a 2xx; failed: given up, or 410 Gone. */
export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number]

const Nullable = <T extends TSchema>(schema: T) =>
  Type.Unsafe<T['static'] | null>({ ...schema, nullable: true })
const DateTime = Type.String({ format: 'date-time' })
const Id = Type.Integer({ minimum: 1, maximum: 2147483647 })
const BigId = Type.Integer({ minimum: 1, maximum: 2 ** 53 - 1 })

const EventTypes = Type.Array(Type.Union(AUDIT_EVENT_TYPES.map((type) => Type.Literal(type))), {
  maxItems: AUDIT_EVENT_TYPES.length,
  description: 'The event types sent; empty: every type',
})
const Url = Type.String({
  minLength: 1,
  maxLength: 2000,
  description: 'http or https; loopback, private and link-local targets are refused unless allowed',
})
const Description = Type.String({ maxLength: 255 })

export const EndpointIdParams = Type.Object({ id: Id })
export const DeliveryIdParams = Type.Object({ id: BigId })

export const CreateEndpointBody = Type.Object({
  url: Url,
  event_types: Type.Optional(EventTypes),
  description: Type.Optional(Description),
  secret: Type.Optional(
    Type.String({
      maxLength: 200,
      'x-no-trim': true,
      description: 'whsec_ and base64 of 24 to 64 bytes; generated when omitted',
    }),
  ),
})

export const PatchEndpointBody = Type.Object({
  url: Type.Optional(Url),
  event_types: Type.Optional(EventTypes),
  description: Type.Optional(Description),
  is_active: Type.Optional(Type.Boolean({ description: 'false pauses deliveries; true sends what waited' })),
})

export const Endpoint = Type.Object({
  id: Type.Integer(),
  url: Type.String(),
  description: Type.String(),
  event_types: Type.Array(Type.String()),
  is_active: Type.Boolean(),
  created_by: Nullable(Type.Integer()),
  created_at: DateTime,
  updated_at: DateTime,
})

export const EndpointWithSecret = Type.Composite([
  Endpoint,
  Type.Object({
    secret: Type.String({ description: 'The signing secret (whsec_...): shown this once, keep it' }),
  }),
])

export const Delivery = Type.Object({
  id: Type.Integer(),
  endpoint_id: Type.Integer(),
  event_id: Nullable(Type.Integer()),
  event_type: Type.String(),
  message_id: Type.String({ description: 'The webhook-id header, the same on every retry and replay' }),
  status: Type.Union(DELIVERY_STATUSES.map((s) => Type.Literal(s))),
  attempts: Type.Integer(),
  last_status: Nullable(Type.Integer({ description: "The receiver's last HTTP status" })),
  next_attempt_at: Nullable(DateTime),
  created_at: DateTime,
  delivered_at: Nullable(DateTime),
})

export const Attempt = Type.Object({
  id: Type.Integer(),
  attempted_at: DateTime,
  status_code: Nullable(Type.Integer()),
  latency_ms: Type.Integer(),
  error: Nullable(Type.String({ description: 'What failed: timeout, connection_refused, http_error ...' })),
  response_excerpt: Nullable(
    Type.String({ description: "The first 500 characters of the receiver's answer" }),
  ),
})

export const DeliveryAttempts = Type.Object({ delivery: Delivery, results: Type.Array(Attempt) })

export const DeliveryListQuery = Type.Object({
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 2147483647, default: 1 })),
  page_size: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 2147483647, default: 20, description: 'Capped at 100' }),
  ),
  status: Type.Optional(Type.Union(DELIVERY_STATUSES.map((s) => Type.Literal(s)))),
})

export const EndpointListQuery = Type.Object({
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 2147483647, default: 1 })),
  page_size: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 2147483647, default: 20, description: 'Capped at 100' }),
  ),
})

export const Deleted = Type.Null({ description: 'Deleted, with its deliveries and their attempts' })
