import { backoffMs } from '../lib/backoff.js'
import type { ClaimedDelivery, Verdict } from './deliveries.js'
import type { AttemptOutcome } from './send.js'

const DAY_MS = 86_400_000

/** Attempts whose waits (backoffMs) add up to a day at least: the issue asks for a day of retries. */
export function attemptsForADay(firstMs: number): number {
  let waited = 0
  let attempts = 1
  while (waited < DAY_MS) waited += backoffMs(attempts++, firstMs)
  return attempts
}

/**
 * 2xx: delivered. 410 Gone: the receiver says the endpoint is no more, as Standard Webhooks
 * senders read it: this delivery fails and the endpoint is disabled (its other deliveries wait
 * until a superuser enables it again). Anything else, a redirect included, is tried again with
 * backoff until `maxAttempts`.
 */
export function verdict(
  delivery: ClaimedDelivery,
  outcome: AttemptOutcome,
  maxAttempts: number,
  retryMs: number,
): Verdict {
  const status = outcome.statusCode
  if (status !== null && status >= 200 && status < 300) return { status: 'delivered' }
  if (status === 410 || delivery.attempts >= maxAttempts) return { status: 'failed' }
  return {
    status: 'pending',
    retryAt: new Date(Date.now() + backoffMs(delivery.attempts, retryMs)),
  }
}
