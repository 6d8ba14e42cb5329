import { createHash, timingSafeEqual } from 'node:crypto'
import { ApiError } from '../http/errors.js'

const digest = (text: string) => createHash('sha256').update(text).digest()

const invalidClient = () => new ApiError(401, 'Invalid client credentials.', 'invalid_client')

/**
 * The services allowed to introspect and revoke tokens without a user's token (RFC 6749 2.3.1:
 * HTTP Basic, the id and secret form-urlencoded). Secrets are compared as SHA-256 digests with
 * timingSafeEqual, so neither their content nor their length shows in the answer's timing, and an
 * unknown id costs the same comparison as a known one.
 */
export class ClientCredentials {
  private readonly secrets: Map<string, Buffer>
  private readonly nobody = digest('no client has this secret')

  constructor(clients: Record<string, string>) {
    this.secrets = new Map(Object.entries(clients).map(([id, secret]) => [id, digest(secret)]))
  }

  get configured(): boolean {
    return this.secrets.size > 0
  }

  /** The client's id, or a 401 `invalid_client` for anything else. */
  check(authorization: string): string {
    const encoded = /^Basic ([A-Za-z0-9+/]+=*)$/.exec(authorization.trim())?.[1]
    const pair = encoded ? Buffer.from(encoded, 'base64').toString('utf8') : ''
    const colon = pair.indexOf(':')
    if (colon < 1) throw invalidClient()
    let id: string
    let secret: string
    try {
      id = decodeURIComponent(pair.slice(0, colon).replace(/\+/g, ' '))
      secret = decodeURIComponent(pair.slice(colon + 1).replace(/\+/g, ' '))
    } catch {
      throw invalidClient()
    }
    const expected = this.secrets.get(id)
    const matches = timingSafeEqual(digest(secret), expected ?? this.nobody)
    if (!expected || !matches) throw invalidClient()
    return id
  }
}
