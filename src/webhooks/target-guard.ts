import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { isIP, type LookupFunction } from 'node:net'

/**
 * The SSRF guard of webhook targets. A superuser's URL must not let the service reach what only it
 * can reach: loopback, private networks, link-local (the cloud metadata address 169.254.169.254),
 * CGNAT, multicast. Checked twice: when a URL is registered (literal addresses and localhost names,
 * so a mistake is a 400 at once), and on every connection, by the `lookup` the HTTP request
 * resolves with, so a name that resolves elsewhere later (DNS rebinding) is refused too.
 * WEBHOOKS_ALLOW_PRIVATE turns both off (tests, a receiver on the same private network).
 */

export class TargetRefused extends Error {
  readonly code = 'ETARGETREFUSED'
  constructor(message: string) {
    super(message)
    this.name = 'TargetRefused'
  }
}

/** IPv4 ranges no webhook may reach: [first address as a number, prefix length]. */
const IPV4_BLOCKED: [string, number][] = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and 255.255.255.255 broadcast
]

function ipv4Number(address: string): number {
  return address.split('.').reduce((n, part) => n * 256 + Number(part), 0)
}

const IPV4_RANGES = IPV4_BLOCKED.map(([first, bits]) => {
  const size = 2 ** (32 - bits)
  return { start: ipv4Number(first), end: ipv4Number(first) + size - 1 }
})

function ipv4Blocked(address: string): boolean {
  const n = ipv4Number(address)
  return IPV4_RANGES.some((r) => n >= r.start && n <= r.end)
}

/** The eight 16-bit groups of an IPv6 address (zone and embedded IPv4 allowed), or undefined. */
function ipv6Groups(address: string): number[] | undefined {
  let text = address.split('%')[0]!.toLowerCase()
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (dotted) {
    const n = ipv4Number(dotted[1]!)
    text = `${text.slice(0, dotted.index)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`
  }
  const [head, tail, ...rest] = text.split('::')
  if (rest.length > 0) return undefined
  const parse = (part: string | undefined) => (part ? part.split(':').map((g) => Number.parseInt(g, 16)) : [])
  const left = parse(head)
  const right = parse(tail)
  const missing = 8 - left.length - right.length
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined
  const groups = [...left, ...Array<number>(tail === undefined ? 0 : missing).fill(0), ...right]
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined
}

/** The IPv4 address a.b.c.d of two 16-bit groups. */
const ipv4Of = (high: number, low: number) => `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`

/**
 * The IPv4 addresses an IPv6 address reaches through a translation or tunnel it names, or
 * undefined when it names none; a form whose embedded address cannot be told is `['0.0.0.0']`
 * (refused). Each must be public: `[64:ff9b::7f00:1]` is 127.0.0.1 to a NAT64 gateway, and
 * `[2002:7f00:1::]` to a 6to4 relay.
 */
function embeddedIpv4(g: number[]): string[] | undefined {
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0)
  const last = ipv4Of(g[6]!, g[7]!)
  // IPv4-mapped ::ffff:a.b.c.d, and IPv4-translated ::ffff:0:a.b.c.d (SIIT).
  if (zero(0, 5) && g[5] === 0xffff) return [last]
  if (zero(0, 4) && g[4] === 0xffff && g[5] === 0) return [last]
  // NAT64: the well-known prefix 64:ff9b::/96 and the local-use 64:ff9b:1::/48 (RFC 8215), which a
  // network may use with any of RFC 6052's prefix lengths: only the /96 layout (the usual one) is
  // read; another layout within 64:ff9b::/32 is refused, since which IPv4 address it reaches depends
  // on the network's setting.
  if (g[0] === 0x64 && g[1] === 0xff9b) return (g[2] === 0 || g[2] === 1) && zero(3, 6) ? [last] : ['0.0.0.0']
  // 6to4 2002:a.b.c.d::/48: the relay delivers to that IPv4 address.
  if (g[0] === 0x2002) return [ipv4Of(g[1]!, g[2]!)]
  // Teredo 2001:0::/32: the server's address, and the client's, stored inverted in the last 32 bits.
  if (g[0] === 0x2001 && g[1] === 0) return [ipv4Of(g[2]!, g[3]!), ipv4Of(g[6]! ^ 0xffff, g[7]! ^ 0xffff)]
  // ISATAP, in any prefix: an interface identifier ::0:5efe:a.b.c.d (or ::200:5efe:, global).
  if ((g[4]! & 0xfdff) === 0 && g[5] === 0x5efe) return [last]
  return undefined
}

function ipv6Blocked(address: string): boolean {
  const g = ipv6Groups(address)
  if (!g) return true // not an address we understand: refuse rather than guess
  // An embedded IPv4 address can only refuse: fe80::5efe:8.8.8.8 is still link-local.
  if (embeddedIpv4(g)?.some(ipv4Blocked)) return true
  if (g.slice(0, 6).every((x) => x === 0)) return true // :: (unspecified), ::1 (loopback), ::a.b.c.d
  if ((g[0]! & 0xfe00) === 0xfc00) return true // fc00::/7 unique local
  if ((g[0]! & 0xffc0) === 0xfe80) return true // fe80::/10 link-local
  if ((g[0]! & 0xffc0) === 0xfec0) return true // fec0::/10 old site-local
  if ((g[0]! & 0xff00) === 0xff00) return true // ff00::/8 multicast
  return false
}

/** Whether an address (as DNS answers it, or literal in a URL) is one a webhook must not reach. */
export function isBlockedAddress(address: string): boolean {
  const family = isIP(address)
  if (family === 4) return ipv4Blocked(address)
  if (family === 6) return ipv6Blocked(address)
  return true
}

/** A host name that names this machine whatever DNS says. */
function isLocalName(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '')
  return name === 'localhost' || name.endsWith('.localhost') || name === 'localhost.localdomain'
}

/**
 * The reason a URL cannot be a webhook target, or undefined when it may be. Run at registration
 * and again before every attempt (the setting may have changed since the URL was registered).
 */
export function refusedTarget(url: string, allowPrivate: boolean): string | undefined {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return 'Enter a valid URL.'
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    return 'Only http and https URLs are allowed.'
  if (parsed.username || parsed.password) return 'The URL must not carry a user name or password.'
  if (!parsed.hostname) return 'Enter a valid URL.'
  if (allowPrivate) return undefined
  // The URL parser has already turned 0x7f.1, 2130706433 and friends into dotted IPv4.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1')
  if (isLocalName(host) || (isIP(host) && isBlockedAddress(host))) {
    return 'Loopback, private and link-local addresses are not allowed as webhook targets.'
  }
  return undefined
}

type Resolver = (
  hostname: string,
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void

const systemResolver: Resolver = (hostname, callback) => dnsLookup(hostname, { all: true }, callback)

/**
 * The `lookup` of a webhook request: resolves as usual, then refuses the connection when any
 * address the name resolves to is blocked (a name with one public and one private address could
 * otherwise be steered to the private one). `resolve` is replaceable for tests.
 */
export function guardedLookup(allowPrivate: boolean, resolve: Resolver = systemResolver): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, (err, found) => {
      if (err) return callback(err, '', 0)
      const wanted = options.family === 4 || options.family === 6 ? options.family : 0
      const addresses = found.filter((a) => wanted === 0 || a.family === wanted)
      if (addresses.length === 0) {
        const none = Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' })
        return callback(none, '', 0)
      }
      if (!allowPrivate && addresses.some((a) => isBlockedAddress(a.address))) {
        return callback(new TargetRefused(`${hostname} resolves to a refused address`), '', 0)
      }
      if (options.all) return (callback as (e: null, a: LookupAddress[]) => void)(null, addresses)
      callback(null, addresses[0]!.address, addresses[0]!.family)
    })
  }
}
