import { Type } from '@sinclair/typebox'

/**
 * Every security event the service records. The type names what happened; `details` says how
 * (a reason class, the fields a staff member changed), never a password, token or code.
 */
export const AUDIT_EVENT_TYPES = [
  'login.succeeded',
  'login.failed',
  'mfa.challenged',
  'mfa.failed',
  'mfa.enabled',
  'mfa.disabled',
  'mfa.reset',
  'token.refreshed',
  'token.reuse_detected',
  'token.blacklisted',
  'session.logout',
  'session.revoked',
  'sessions.revoked_all',
  'password.changed',
  'password.reset',
  'user.created',
  'user.updated',
  'user.deactivated',
  'tokens.invalidated_all',
  'rate_limit.hit',
  'key.rotated',
  'suspicious.new_device',
  'suspicious.failed_logins',
  'suspicious.refresh_reuse',
] as const
export type AuditType = (typeof AUDIT_EVENT_TYPES)[number]

const Id = Type.Integer({ minimum: 1, maximum: 2147483647 })
const Nullable = <T extends ReturnType<typeof Type.String> | ReturnType<typeof Type.Integer>>(t: T) =>
  Type.Union([t, Type.Null()])

export const AuditEventType = Type.Union(
  AUDIT_EVENT_TYPES.map((type) => Type.Literal(type)),
  { description: 'What happened' },
)

export const AuditQuery = Type.Object({
  user_id: Type.Optional(Id),
  type: Type.Optional(
    Type.String({
      maxLength: 2000,
      description: 'One event type, or several separated by commas',
    }),
  ),
  ip: Type.Optional(Type.String({ maxLength: 45, description: 'The client address, exactly' })),
  since: Type.Optional(Type.String({ format: 'date-time', description: 'Events at or after this time' })),
  until: Type.Optional(Type.String({ format: 'date-time', description: 'Events at or before this time' })),
  cursor: Type.Optional(
    Type.String({ pattern: '^[1-9][0-9]{0,15}$', description: "The previous page's `next_cursor`" }),
  ),
  page_size: Type.Optional(Type.Integer({ minimum: 1, default: 50, description: 'At most 200' })),
})

export const AuditEntry = Type.Object({
  id: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  type: Type.String(),
  user_id: Nullable(Type.Integer()),
  username: Nullable(
    Type.String({ description: "The user's username when the event was recorded (a later rename keeps it)" }),
  ),
  session_id: Nullable(Type.Integer()),
  actor_id: Nullable(Type.Integer({ description: 'Who did it, when a request carried a token' })),
  actor_username: Nullable(Type.String({ description: "The actor's username when the event was recorded" })),
  client_id: Nullable(Type.Integer({ description: 'The tenant of the user the event is about' })),
  ip: Nullable(Type.String()),
  user_agent: Nullable(Type.String()),
  request_id: Nullable(Type.String()),
  details: Type.Record(Type.String(), Type.Unknown()),
})

export const AuditPage = Type.Object({
  results: Type.Array(AuditEntry),
  next: Type.Union([Type.String(), Type.Null()], { description: 'The next (older) page, or null' }),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
})

export const AuditEventTypes = Type.Object({ event_types: Type.Array(AuditEventType) })
