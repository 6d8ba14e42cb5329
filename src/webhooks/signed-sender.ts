import type { Agent as HttpAgent } from 'node:http'
import type { Agent as HttpsAgent } from 'node:https'
import type { LookupFunction } from 'node:net'
import type { ClaimedDelivery } from './deliveries.js'
import { openSecret } from './secrets.js'
import { type AttemptOutcome, postWebhook } from './send.js'
import { signedHeaders } from './signature.js'

/** Signs and posts one attempt, with the endpoint's secret opened once per sealed value and key. */
export class SignedSender {
  /** Opened secrets by endpoint, valid while its sealed secret and KEY_ENCRYPTION_KEY are the same. */
  private readonly secrets = new Map<number, { sealed: string; key: string; secret: string }>()

  constructor(
    private readonly options: {
      encryptionKey: () => string | undefined
      timeoutMs: number
      allowPrivate: boolean
    },
    private readonly lookup: LookupFunction,
    private readonly agents: { http: HttpAgent; https: HttpsAgent },
    private readonly stopping: AbortController,
  ) {}

  async send(delivery: ClaimedDelivery): Promise<AttemptOutcome> {
    let secret: string
    try {
      secret = this.secret(delivery)
    } catch {
      // KEY_ENCRYPTION_KEY missing or not the one that sealed it: an operator's matter; retried.
      return { statusCode: null, latencyMs: 0, error: 'secret_unavailable', responseExcerpt: null }
    }
    // Signed per attempt: webhook-timestamp is this attempt's time, and a rotated secret applies at once.
    const headers = signedHeaders(secret, delivery.messageId, delivery.payload)
    return postWebhook(delivery.url, headers, delivery.payload, {
      timeoutMs: this.options.timeoutMs,
      allowPrivate: this.options.allowPrivate,
      lookup: this.lookup,
      agents: this.agents,
      stop: this.stopping.signal,
    })
  }

  /** The endpoint's secret, opened once per sealed value and key (rotation changes the sealed value). */
  private secret(delivery: ClaimedDelivery): string {
    const key = this.options.encryptionKey()
    if (!key) throw new Error('no KEY_ENCRYPTION_KEY')
    const known = this.secrets.get(delivery.endpointId)
    if (known && known.sealed === delivery.sealedSecret && known.key === key) return known.secret
    const secret = openSecret(key, delivery.endpointId, delivery.sealedSecret)
    this.secrets.set(delivery.endpointId, { sealed: delivery.sealedSecret, key, secret })
    return secret
  }
}
