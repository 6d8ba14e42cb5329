import type { LookupFunction } from 'node:net'
import type { ClaimedDelivery } from './deliveries.js'
import type { AttemptOutcome } from './send.js'

export interface DelivererOptions {
  /** The first wait before a retry; each further one doubles, up to an hour. */
  retryMs: number
  /** Longest wait for one attempt, connection and answer included. */
  timeoutMs: number
  allowPrivate: boolean
  /** KEY_ENCRYPTION_KEY, read when first needed (undefined: secrets cannot be opened). */
  encryptionKey: () => string | undefined
  /** How often the outbox is read for retries and other instances' deliveries. */
  pollMs?: number
  /** Attempts in flight at once, over all endpoints. */
  maxInFlight?: number
  /** Attempts in flight to one endpoint, so one slow receiver leaves room for the others. */
  maxPerEndpoint?: number
  /** Give up after this many attempts; by default as many as keep trying for a day. */
  maxAttempts?: number
  /** The connect-time SSRF check's lookup (tests give one with a fake DNS). */
  lookup?: LookupFunction
  onAttemptFailed?: (delivery: ClaimedDelivery, outcome: AttemptOutcome) => void
  /** A receiver answered 410 Gone: its endpoint was disabled. */
  onEndpointGone?: (endpointId: number) => void
}

/** Deliveries one sender holds (claimed, waiting or in flight) per endpoint slot: enough that a fast receiver never waits for a claim. */
export const HELD_PER_SLOT = 32
/** Attempts recorded per statement at most. */
export const SETTLE_BATCH = 500
/** Least time between two claims while deliveries still wait here (each claim reads every pending row). */
export const CLAIM_GAP_MS = 10
/** The same while slots are free but what waits is for endpoints at their limit. */
export const STARVED_CLAIM_GAP_MS = 50
/** A free keep-alive socket is closed after this long unused (receivers commonly close theirs at 5 s). */
export const IDLE_SOCKET_MS = 4000
