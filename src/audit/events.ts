import type { Db } from '../database/database.js'
import type { RequestMeta } from '../http/request-meta.js'

import { AUDIT_EVENT_TYPES, type AuditType } from '../../schema/audit.js'

export { AUDIT_EVENT_TYPES, type AuditType }
export type { RequestMeta }

export function isAuditType(value: string): value is AuditType {
  return (AUDIT_EVENT_TYPES as readonly string[]).includes(value)
}

/** What a service says happened. */
export interface AuditEvent {
  type: AuditType
  /** The user the event is about. */
  userId?: number | null
  sessionId?: number | null
  /** Who did it, when not the user themself (staff, a superuser). */
  actorId?: number | null
  /** The tenant of the user the event is about; staff of a tenant read only their tenant's rows. */
  clientId?: number | null
  details?: Record<string, unknown>
}

/** An event as written: with its time and where it came from. */
export interface AuditRecord extends AuditEvent {
  at: Date
  ip: string | null
  userAgent: string | null
  requestId: string | null
}

/** A written event, with the id of its audit row and the usernames the row recorded. */
export interface StoredEvent extends AuditRecord {
  id: number
  username?: string | null
  actorUsername?: string | null
}

/** Records events for later: never waits for the database, never throws. */
export interface AuditTrail {
  record(event: AuditEvent, meta?: RequestMeta): void
}

/** A trail that keeps nothing (AUDIT_ENABLED=false, and tools that need none). */
export const noAudit: AuditTrail = { record() {} }

/**
 * Looks at a batch of written events, inside the transaction that wrote them, and answers the
 * events they amount to (a login from a new device, too many failed logins). Those are written
 * in the same transaction and reach the sinks with the batch.
 */
export interface EventDetector {
  detect(tx: Db, events: StoredEvent[]): Promise<AuditRecord[]>
}

/**
 * Runs inside the transaction that writes a batch of audit rows, so what it writes (a webhook
 * delivery, a mail) exists exactly when the events do.
 */
export interface EventSink {
  write(tx: Db, events: StoredEvent[]): Promise<void>
  /** After the transaction committed: start sending what was written. */
  committed?(): void
}
