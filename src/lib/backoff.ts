/**
 * Wait before attempt n+1 of an outbox (mail, webhooks): first, twice that, four times ... at most
 * an hour. One owner, so both outboxes keep retrying on the same curve.
 */
export function backoffMs(attempts: number, firstMs = 10_000): number {
  return Math.min(3_600_000, firstMs * 2 ** Math.max(0, attempts - 1))
}
