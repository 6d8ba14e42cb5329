import type { CurrentUser } from '../accounts/current-user.js'
import { isAuditType } from '../audit/events.js'
import { ApiError, errors, FieldErrors } from '../http/errors.js'
import type { Principal } from '../tokens/claims.js'
import type { AttemptRow, DeliveryRepository, DeliveryRow, DeliveryStatus } from './deliveries.js'
import type { Deliverer } from './deliverer.js'
import type { EndpointChange, EndpointRepository, EndpointRow } from './endpoints.js'
import { sealSecret } from './secrets.js'
import { isValidSecret, newSecret } from './signature.js'
import { refusedTarget } from './target-guard.js'

export interface WebhookAdminDeps {
  currentUser: CurrentUser
  endpoints: EndpointRepository
  deliveries: DeliveryRepository
  deliverer: Deliverer
  allowPrivate: boolean
  /** KEY_ENCRYPTION_KEY, read when first needed. */
  encryptionKey: () => string | undefined
}

export interface EndpointInput {
  url: string
  event_types?: string[]
  description?: string
  secret?: string
}

export interface EndpointPatch {
  url?: string
  event_types?: string[]
  description?: string
  is_active?: boolean
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null)

/** An endpoint as the API shows it: never its secret, sealed or not. */
export function endpointBody(row: EndpointRow) {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    event_types: row.eventTypes,
    is_active: row.isActive,
    created_by: row.createdBy,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  }
}

export function deliveryBody(row: DeliveryRow) {
  return {
    id: row.id,
    endpoint_id: row.endpointId,
    event_id: row.eventId,
    event_type: row.eventType,
    message_id: row.messageId,
    status: row.status as DeliveryStatus,
    attempts: row.attempts,
    last_status: row.lastStatus,
    next_attempt_at: row.status === 'pending' ? iso(row.nextAttemptAt) : null,
    created_at: row.createdAt.toISOString(),
    delivered_at: iso(row.deliveredAt),
  }
}

export function attemptBody(row: AttemptRow) {
  return {
    id: row.id,
    attempted_at: row.attemptedAt.toISOString(),
    status_code: row.statusCode,
    latency_ms: row.latencyMs,
    error: row.error,
    response_excerpt: row.responseExcerpt,
  }
}

/**
 * The superusers' side of webhooks: endpoints, their deliveries and attempts, replays. Every call
 * checks the caller is a superuser (a tenant's staff must not see every tenant's events). A secret
 * is answered twice only: when the endpoint is registered and when it is rotated.
 */
export class WebhookAdmin {
  constructor(private readonly d: WebhookAdminDeps) {}

  async list(principal: Principal, limit: number, offset: number) {
    await this.d.currentUser.superuser(principal)
    const { count, rows } = await this.d.endpoints.list(limit, offset)
    return { count, results: rows.map(endpointBody) }
  }

  async create(principal: Principal, input: EndpointInput) {
    const actor = await this.d.currentUser.superuser(principal)
    const problems: Record<string, string[]> = {}
    const url = this.checkUrl(input.url, problems)
    const eventTypes = checkTypes(input.event_types ?? [], problems)
    if (input.secret !== undefined && !isValidSecret(input.secret)) {
      problems.secret = ['Enter a secret of the form whsec_ followed by base64 of 24 to 64 bytes.']
    }
    if (Object.keys(problems).length > 0) throw new FieldErrors(problems)
    const key = this.key()
    const secret = input.secret ?? newSecret()
    const row = await this.d.endpoints.create(
      { url, description: input.description ?? '', eventTypes, createdBy: actor.id },
      (id) => sealSecret(key, id, secret),
    )
    return { ...endpointBody(row), secret }
  }

  async get(principal: Principal, id: number) {
    await this.d.currentUser.superuser(principal)
    return endpointBody(await this.endpoint(id))
  }

  async update(principal: Principal, id: number, patch: EndpointPatch) {
    await this.d.currentUser.superuser(principal)
    await this.endpoint(id)
    const problems: Record<string, string[]> = {}
    const change: EndpointChange = {}
    if (patch.url !== undefined) change.url = this.checkUrl(patch.url, problems)
    if (patch.event_types !== undefined) change.eventTypes = checkTypes(patch.event_types, problems)
    if (patch.description !== undefined) change.description = patch.description
    if (patch.is_active !== undefined) change.isActive = patch.is_active
    if (Object.keys(problems).length > 0) throw new FieldErrors(problems)
    const row = await this.d.endpoints.update(id, change)
    if (!row) throw errors.notFound()
    // Enabled again: what waited for it is due now.
    if (patch.is_active) this.d.deliverer.kick()
    return endpointBody(row)
  }

  async remove(principal: Principal, id: number): Promise<void> {
    await this.d.currentUser.superuser(principal)
    if (!(await this.d.endpoints.remove(id))) throw errors.notFound()
  }

  /** A new secret, effective on the next attempt (pending deliveries included). */
  async rotateSecret(principal: Principal, id: number) {
    await this.d.currentUser.superuser(principal)
    await this.endpoint(id)
    const secret = newSecret()
    const row = await this.d.endpoints.setSealedSecret(id, sealSecret(this.key(), id, secret))
    if (!row) throw errors.notFound()
    return { ...endpointBody(row), secret }
  }

  async deliveries(
    principal: Principal,
    endpointId: number,
    q: { status?: DeliveryStatus; limit: number; offset: number },
  ) {
    await this.d.currentUser.superuser(principal)
    await this.endpoint(endpointId)
    const { count, rows } = await this.d.deliveries.list(endpointId, q)
    return { count, results: rows.map(deliveryBody) }
  }

  async attempts(principal: Principal, deliveryId: number) {
    await this.d.currentUser.superuser(principal)
    const delivery = await this.d.deliveries.find(deliveryId)
    if (!delivery) throw errors.notFound()
    const attempts = await this.d.deliveries.attempts(deliveryId)
    return { delivery: deliveryBody(delivery), results: attempts.map(attemptBody) }
  }

  /** A new pending delivery of the same message (same webhook-id and body), sent at once. */
  async replay(principal: Principal, deliveryId: number) {
    await this.d.currentUser.superuser(principal)
    const row = await this.d.deliveries.replay(deliveryId)
    if (!row) throw errors.notFound()
    this.d.deliverer.kick()
    return deliveryBody(row)
  }

  private async endpoint(id: number): Promise<EndpointRow> {
    const row = await this.d.endpoints.find(id)
    if (!row) throw errors.notFound()
    return row
  }

  private checkUrl(url: string, problems: Record<string, string[]>): string {
    const trimmed = url.trim()
    const refused = refusedTarget(trimmed, this.d.allowPrivate)
    if (refused) problems.url = [refused]
    return trimmed
  }

  private key(): string {
    const key = this.d.encryptionKey()
    if (!key) {
      throw new ApiError(503, 'Webhooks need KEY_ENCRYPTION_KEY on this server.', 'webhooks_unavailable')
    }
    return key
  }
}

/** Known types only, each once; none means every type. */
function checkTypes(types: string[], problems: Record<string, string[]>): string[] {
  const unknown = types.filter((t) => !isAuditType(t))
  if (unknown.length > 0) problems.event_types = [`Unknown event types: ${unknown.join(', ')}.`]
  return [...new Set(types)]
}
