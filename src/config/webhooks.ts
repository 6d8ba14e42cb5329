import type { Reader } from './read.js'

export interface WebhooksConfig {
  /** Webhook targets on loopback, private or link-local addresses are refused unless this is on. */
  webhooksAllowPrivate: boolean
  /** The first wait before a failed webhook delivery is tried again; each further wait doubles, up to an hour. */
  webhookRetrySeconds: number
  /** Longest wait for a receiver's answer. */
  webhookTimeoutMs: number
}

export function readWebhooks(read: Reader): WebhooksConfig {
  return {
    webhooksAllowPrivate: read.bool('WEBHOOKS_ALLOW_PRIVATE', false),
    webhookRetrySeconds: read.int('WEBHOOK_RETRY_SECONDS', 10, 1, 3600),
    webhookTimeoutMs: read.int('WEBHOOK_TIMEOUT_MS', 15_000, 100, 120_000),
  }
}
