import { BlockList, isIP } from 'node:net'

/**
 * Request throttles configured the way Django REST framework's are: an anonymous rate per client
 * address (AnonRateThrottle), a user rate per user id (UserRateThrottle) and a rate per route
 * group (ScopedRateThrottle), each off or `N/second|minute|hour|day`. The groups are named in the
 * routes (`config: { throttle: 'login' }`); plugins/app/throttles.ts applies them.
 */
export const THROTTLE_SCOPES = [
  'login',
  'refresh',
  'verify',
  'mail',
  'mfa',
  'introspection',
  'admin',
] as const
export type ThrottleScope = (typeof THROTTLE_SCOPES)[number]

export interface Rate {
  max: number
  windowMs: number
}

export interface ThrottleSettings {
  /** Requests without a user, per client address; undefined: off. */
  anon: Rate | undefined
  /** Requests of one user (or configured service) across addresses; undefined: off. */
  user: Rate | undefined
  scopes: Partial<Record<ThrottleScope, Rate>>
  /** Addresses and CIDR ranges no request throttle applies to (trusted backends). */
  allow: string[]
}

export const THROTTLES_OFF: ThrottleSettings = { anon: undefined, user: undefined, scopes: {}, allow: [] }

const PERIODS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/**
 * `100/minute`, `5/second`, `1000/day`; like DRF, only the period's first letter counts
 * (`10/min`, `10/h`). '' or `off`: undefined. Anything else: a sentence for the config error.
 */
export function parseRate(raw: string | undefined): Rate | undefined | string {
  const value = raw?.trim().toLowerCase() ?? ''
  if (value === '' || value === 'off') return undefined
  const match = /^(\d{1,9})\s*\/\s*([a-z]+)$/.exec(value)
  const windowMs = match ? PERIODS[match[2]!.charAt(0)] : undefined
  if (!match || windowMs === undefined || Number(match[1]) < 1) {
    return `expected off or N/second, N/minute, N/hour or N/day (N from 1), got "${raw}".`
  }
  return { max: Number(match[1]), windowMs }
}

/**
 * The allow-list as a test of one address; undefined when a range is not an address or CIDR.
 * IPv4 addresses seen as IPv6 (::ffff:10.0.0.1) match their IPv4 ranges.
 */
export function allowList(ranges: string[]): ((ip: string) => boolean) | undefined {
  const list = new BlockList()
  for (const range of ranges) {
    const [address = '', prefix, ...rest] = range.split('/')
    const family = isIP(address)
    if (family === 0 || rest.length > 0) return undefined
    const type = family === 4 ? 'ipv4' : 'ipv6'
    if (prefix === undefined) {
      list.addAddress(address, type)
      continue
    }
    const bits = Number(prefix)
    if (!/^\d{1,3}$/.test(prefix) || bits > (family === 4 ? 32 : 128)) return undefined
    list.addSubnet(address, bits, type)
  }
  return (ip) => {
    const family = isIP(ip)
    if (family === 4) return list.check(ip, 'ipv4')
    if (family !== 6) return false
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
    return mapped ? list.check(mapped[1]!, 'ipv4') : list.check(ip, 'ipv6')
  }
}
