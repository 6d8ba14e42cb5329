import { createHash } from 'node:crypto'
import { isIPv4, isIPv6 } from 'node:net'
import { inArray, sql } from 'drizzle-orm'
import { knownDevices } from '../../schema/db.js'
import type { Db } from '../database/database.js'

export interface Sighting {
  kind: 'device' | 'network'
  value: string
}

/** What a login is seen from: a digest of its user agent, and its network (/24 for IPv4, /48 for IPv6). */
export function sightingsOf(ip: string | null, userAgent: string | null): Sighting[] {
  const seen: Sighting[] = [
    {
      kind: 'device',
      value: createHash('sha256')
        .update(userAgent ?? '')
        .digest('hex')
        .slice(0, 32),
    },
  ]
  const network = networkOf(ip)
  if (network) seen.push({ kind: 'network', value: network })
  return seen
}

export function networkOf(ip: string | null): string | undefined {
  if (!ip) return undefined
  const v4 = ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip
  if (isIPv4(v4)) return `${v4.split('.').slice(0, 3).join('.')}.0/24`
  if (isIPv6(ip)) return `${expandIPv6(ip).slice(0, 3).join(':')}::/48`
  return undefined
}

function expandIPv6(ip: string): string[] {
  const [head = '', tail = ''] = ip.split('::')
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const middle = ip.includes('::') ? Array(8 - left.length - right.length).fill('0') : []
  return [...left, ...middle, ...right].map((part) => part.toLowerCase().replace(/^0+(?=.)/, ''))
}

/** The known_devices table: where each user has logged in from. */
export class KnownDeviceRepository {
  constructor(private readonly db: Db) {}

  /**
   * Records the sightings of a batch of logins, in order, with two statements whatever the batch
   * size. Answers, per login, which sightings the user had never been seen from before it (a
   * login earlier in the batch counts), and whether the user had been seen at all before it (a
   * first login is new everywhere, and no alarm).
   */
  async rememberAll(
    logins: { userId: number; sightings: Sighting[]; at: Date }[],
    db: Db = this.db,
  ): Promise<{ firstLogin: boolean; unseen: Sighting['kind'][] }[]> {
    if (logins.length === 0) return []
    const userIds = [...new Set(logins.map((l) => l.userId))]
    const known = await db
      .select({ userId: knownDevices.userId, kind: knownDevices.kind, value: knownDevices.value })
      .from(knownDevices)
      .where(inArray(knownDevices.userId, userIds))
    const seen = new Set(known.map((k) => `${k.userId}:${k.kind}:${k.value}`))
    const users = new Set(known.map((k) => k.userId))
    const latest = new Map<string, { userId: number; kind: string; value: string; at: Date }>()
    const answers = logins.map(({ userId, sightings, at }) => {
      const firstLogin = !users.has(userId)
      const unseen = sightings.filter((s) => !seen.has(`${userId}:${s.kind}:${s.value}`)).map((s) => s.kind)
      users.add(userId)
      for (const s of sightings) {
        const key = `${userId}:${s.kind}:${s.value}`
        seen.add(key)
        latest.set(key, { userId, kind: s.kind, value: s.value, at })
      }
      return { firstLogin, unseen }
    })
    // One row per sighting (ON CONFLICT may not touch a row twice in one statement).
    const rows = [...latest.values()].map((r) => ({ ...r, firstSeen: r.at, lastSeen: r.at }))
    await db
      .insert(knownDevices)
      .values(rows)
      .onConflictDoUpdate({
        target: [knownDevices.userId, knownDevices.kind, knownDevices.value],
        set: { lastSeen: sql`excluded.last_seen` },
      })
    return answers
  }
}
