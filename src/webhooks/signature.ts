import { createHmac, randomBytes } from 'node:crypto'
import type { StoredEvent } from '../audit/events.js'

/**
 * Standard Webhooks (https://www.standardwebhooks.com/): a receiver verifies our deliveries with
 * any of the spec's libraries. The secret is `whsec_` and base64 of the key bytes; the signature
 * is HMAC-SHA256 over `${id}.${timestamp}.${body}` with those bytes, sent as `v1,<base64>`.
 */
const PREFIX = 'whsec_'

/** A new secret: 32 random bytes, as the spec recommends (24 to 64). */
export function newSecret(): string {
  return PREFIX + randomBytes(32).toString('base64')
}

/** Whether a secret a superuser chose is in the spec's format, with 24 to 64 key bytes. */
export function isValidSecret(secret: string): boolean {
  if (!secret.startsWith(PREFIX)) return false
  const encoded = secret.slice(PREFIX.length)
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return false
  const bytes = Buffer.from(encoded, 'base64')
  // The round trip refuses base64 Node would read leniently (bad padding, stray bits).
  return bytes.length >= 24 && bytes.length <= 64 && bytes.toString('base64') === encoded
}

/** The three headers of one attempt; the timestamp is the attempt's own, as the spec requires. */
export function signedHeaders(
  secret: string,
  messageId: string,
  body: string,
  now = new Date(),
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  const timestamp = String(Math.floor(now.getTime() / 1000))
  const key = Buffer.from(secret.slice(PREFIX.length), 'base64')
  const mac = createHmac('sha256', key).update(`${messageId}.${timestamp}.${body}`).digest('base64')
  return { 'webhook-id': messageId, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${mac}` }
}

/**
 * The body of an event's deliveries, built once when the event is written: every endpoint, retry
 * and replay sends exactly these bytes. The fields are the audit row's, in the API's snake_case.
 */
export function eventPayload(event: StoredEvent): string {
  return JSON.stringify({
    type: event.type,
    timestamp: event.at.toISOString(),
    data: {
      event_id: event.id,
      user_id: event.userId ?? null,
      username: event.username ?? null,
      session_id: event.sessionId ?? null,
      actor_id: event.actorId ?? null,
      actor_username: event.actorUsername ?? null,
      client_id: event.clientId ?? null,
      ip: event.ip,
      user_agent: event.userAgent,
      request_id: event.requestId,
      details: event.details ?? {},
    },
  })
}
