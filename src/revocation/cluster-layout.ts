import { keys } from './store.js'

/** Buckets of each kind: enough to spread evenly over the masters of a cluster, few enough to mark. */
const BUCKETS = 256

/**
 * Where a Redis Cluster store keeps each entry. A cluster answers an MGET only when every key lies
 * in one slot, so entries live in hash-tagged buckets, each wholly in one slot:
 * - user buckets `{u<n>}` (n = user id mod 256) hold a user's state and sessions, and a copy of
 *   the global mark;
 * - token buckets `{t<n>}` (n = a hash of the jti) hold denied jtis, which the database keeps
 *   without their user.
 * A lookup reads one user bucket and one token bucket: one MGET each, at most two nodes. Each
 * bucket has its own completeness mark, so a shard that loses data is found, and restored, alone.
 */
export class ClusterLayout {
  /** Buckets 0..255 are user buckets, 256..511 token buckets. */
  readonly count = 2 * BUCKETS
  /** Each bucket's key prefix: the store's prefix and the hash tag. */
  readonly tags: string[] = []
  /** Each bucket's slot. */
  readonly slots: number[] = []

  constructor(prefix: string) {
    for (let n = 0; n < BUCKETS; n++) this.tags.push(`${prefix}{u${n}}`)
    for (let n = 0; n < BUCKETS; n++) this.tags.push(`${prefix}{t${n}}`)
    for (const tag of this.tags) this.slots.push(keySlot(tag))
  }

  userBucket(userId: number): number {
    return Number.isSafeInteger(userId) ? Math.abs(userId) % BUCKETS : 0
  }

  tokenBucket(jti: string): number {
    return BUCKETS + (fnv1a(jti) % BUCKETS)
  }

  /** The user buckets: where the global mark is copied. */
  userBuckets(): number[] {
    return Array.from({ length: BUCKETS }, (_, n) => n)
  }

  complete(bucket: number): string {
    return keys.complete(this.tags[bucket]!)
  }
}

/** 32-bit FNV-1a of a string's UTF-16 code units: spreads jtis, nothing secret depends on it. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** The cluster slot of a key, as Redis computes it: CRC16 (XMODEM) of its hash tag, mod 16384. */
export function keySlot(key: string): number {
  const open = key.indexOf('{')
  if (open !== -1) {
    const close = key.indexOf('}', open + 1)
    if (close > open + 1) key = key.slice(open + 1, close)
  }
  let crc = 0
  for (const byte of Buffer.from(key)) {
    crc ^= byte << 8
    for (let bit = 0; bit < 8; bit++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc % 16384
}
