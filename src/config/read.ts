/**
 * The parsing every section shares: each bad value becomes one sentence that names the variable,
 * says what was expected and what was given (never a secret), and all of them are reported at once.
 */

/** The environment as given: every variable a string, or unset. */
export type Env = Record<string, string | undefined>

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.name = 'ConfigError'
  }
}

/** Reads variables for the sections, collecting a sentence for each value that cannot work. */
export class Reader {
  readonly problems: string[] = []

  constructor(readonly env: Env) {}

  /** Records a problem: one sentence starting with the variable's name. */
  problem(sentence: string): void {
    this.problems.push(sentence)
  }

  /** The value as given; '' counts as unset. */
  text(name: string): string | undefined {
    return this.env[name] || undefined
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.env[name]
    if (raw === undefined || raw === '') return fallback
    const value = Number(raw)
    if (!/^-?\d+$/.test(raw.trim()) || value < min || value > max) {
      this.problem(`${name}: expected a whole number from ${min} to ${max}, got "${raw}".`)
      return fallback
    }
    return value
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.env[name]
    if (raw === undefined || raw === '') return fallback
    const v = raw.trim().toLowerCase()
    if (['1', 'true', 'yes', 'on'].includes(v)) return true
    if (['0', 'false', 'no', 'off'].includes(v)) return false
    this.problem(`${name}: expected true or false, got "${raw}".`)
    return fallback
  }

  choice<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const raw = this.env[name]
    if (raw === undefined || raw === '') return fallback
    if ((allowed as readonly string[]).includes(raw)) return raw as T
    this.problem(`${name}: expected one of ${allowed.join(', ')}, got "${raw}".`)
    return fallback
  }

  /** hostList: `postgres://user@h1:5432,h2:5432/db` (one host per server of a failover set) is allowed. */
  url(name: string, protocols: string[], { hostList = false } = {}): string | undefined {
    const raw = this.env[name]
    if (raw === undefined || raw === '') return undefined
    try {
      const u = new URL(hostList ? firstHostOnly(raw) : raw)
      if (!protocols.includes(u.protocol)) {
        this.problem(`${name}: expected a ${protocols.join(' or ')}// URL, got one starting "${u.protocol}".`)
      }
    } catch {
      // Never echo the value: a URL may hold a password.
      this.problem(`${name}: not a valid URL.`)
    }
    return raw
  }
}

/**
 * The URL with only the first of its comma-separated hosts, for checking the rest of it (WHATWG
 * URLs have one host); the other hosts must be host or host:port. Throws when one is not.
 */
function firstHostOnly(raw: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?)([^/?#]*)(.*)$/is.exec(raw)
  if (!m || !m[2]!.includes(',')) return raw
  const hosts = m[2]!.split(',')
  if (!hosts.every((h) => /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(:\d{1,5})?$/.test(h)))
    throw new Error('bad host list')
  return m[1]! + hosts[0]! + m[3]!
}
