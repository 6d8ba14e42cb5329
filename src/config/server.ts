import { isIP } from 'node:net'
import { availableParallelism } from 'node:os'
import { resolve } from 'node:path'
import type { Env, Reader } from './read.js'

export type NodeEnv = 'production' | 'development' | 'test'

/**
 * Which proxies in front may name the client (X-Forwarded-For, -Proto, X-Request-Id): false for
 * none, a number of hops, or the proxies' addresses and CIDR ranges (Fastify's trustProxy).
 */
export type TrustProxy = false | number | string[]

/** The process and its HTTP server: where it listens, what it trusts, where its data lives. */
export interface ServerConfig {
  env: NodeEnv
  /** Server processes sharing the port (node:cluster); 1: this process serves alone. */
  workers: number
  host: string
  port: number
  logLevel: string
  dataDir: string
  /** The service's address as users reach it: every link in a mail starts with it, never with a Host header. */
  publicUrl: string
  corsOrigins: string[]
  trustProxy: TrustProxy
  /** ALLOW_EMBEDDED_IN_PRODUCTION: production may run on PGlite and the in-process store, on purpose. */
  allowEmbeddedInProduction: boolean
  bodyLimit: number
  /** Strict-Transport-Security max-age in seconds, for deployments behind TLS; 0: no header. */
  hstsMaxAge: number
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

/** DATA_DIR, absolute: known before the rest, so the server can close it before anything reads it. */
export function dataDirOf(env: Env = process.env): string {
  return resolve(env.DATA_DIR || 'data')
}

/** NODE_ENV, read first: other sections' rules depend on it. */
export function readNodeEnv(read: Reader): NodeEnv {
  // A typo (`prod`) would run in development mode, with a generated key and mail to files.
  const raw = read.env.NODE_ENV
  if (raw === undefined || raw === '') return 'development'
  if (raw === 'production' || raw === 'development' || raw === 'test') return raw
  read.problem(`NODE_ENV: expected production, development or test, got "${raw.slice(0, 32)}".`)
  return 'development'
}

export function readServer(read: Reader, env: NodeEnv): ServerConfig {
  const host = read.env.HOST || '127.0.0.1'
  const port = read.int('PORT', 8000, 0, 65535)
  const server: ServerConfig = {
    env,
    workers: readWorkers(read),
    host,
    port,
    logLevel: read.choice('LOG_LEVEL', 'info', LOG_LEVELS),
    dataDir: dataDirOf(read.env),
    publicUrl: read.url('PUBLIC_URL', ['http:', 'https:'])?.replace(/\/+$/, '') ?? localUrl(host, port),
    corsOrigins: (read.env.CORS_ORIGINS || '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    trustProxy: readTrustProxy(read),
    allowEmbeddedInProduction: read.bool('ALLOW_EMBEDDED_IN_PRODUCTION', false),
    bodyLimit: read.int('BODY_LIMIT', 64 * 1024, 1024, 10 * 1024 * 1024),
    hstsMaxAge: read.int('HSTS_MAX_AGE', 0, 0, 2 * 365 * 86400),
  }
  if (env === 'production' && !read.env.PUBLIC_URL) {
    read.problem(
      'PUBLIC_URL: required when NODE_ENV=production (the discovery document, page links and mailed links start with it, never with a Host header), e.g. https://auth.example.com.',
    )
  }
  return server
}

/**
 * PUBLIC_URL outside production when unset: the address this server listens on (HOST and PORT),
 * with a wildcard host read as this machine. PORT=0 is known only once listening (src/server.ts).
 */
export function localUrl(host: string, port: number): string {
  const name = host === '0.0.0.0' || host === '::' || host === '' ? '127.0.0.1' : host
  return `http://${name.includes(':') ? `[${name}]` : name}:${port || 8000}`
}

/** WORKERS: a whole number of processes, or "auto": one per core. */
function readWorkers(read: Reader): number {
  const raw = read.env.WORKERS?.trim()
  if (!raw) return 1
  if (raw === 'auto') return availableParallelism()
  const n = Number(raw)
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    read.problem(`WORKERS: expected a whole number from 1 to 256 or "auto", got "${raw}".`)
    return 1
  }
  return n
}

/**
 * TRUST_PROXY: a number of proxies in front, or their addresses (IP or CIDR, and proxy-addr's
 * names loopback, linklocal, uniquelocal). Never "every hop": behind a proxy that appends to
 * X-Forwarded-For, the leftmost value is whatever the client wrote.
 */
function readTrustProxy(read: Reader): TrustProxy {
  const name = 'TRUST_PROXY'
  const raw = read.env[name]?.trim()
  if (!raw) return false
  const v = raw.toLowerCase()
  if (['0', 'false', 'no', 'off'].includes(v)) return false
  if (['true', 'yes', 'on'].includes(v)) {
    read.problem(
      `${name}: "${raw}" would trust every hop, so any client could choose its own address by sending X-Forwarded-For; set the number of proxies in front of the service (1 behind one nginx) or their addresses (e.g. 10.0.0.5,10.1.0.0/16).`,
    )
    return false
  }
  if (/^\d+$/.test(v)) {
    const hops = Number(v)
    if (hops <= 10) return hops === 0 ? false : hops
    read.problem(`${name}: expected a number of proxies from 0 to 10, got "${raw}".`)
    return false
  }
  const list = raw.split(',').map((x) => x.trim())
  for (const item of list) {
    if (!isAddressOrRange(item)) {
      read.problem(
        `${name}: expected a number of proxies or their addresses (IP or CIDR, comma-separated), got an item "${item.slice(0, 64)}".`,
      )
      return false
    }
  }
  return list
}

const NAMED_RANGES = ['loopback', 'linklocal', 'uniquelocal']

/** An IP address, a CIDR range (10.0.0.0/8, fd00::/8) or one of proxy-addr's named ranges. */
function isAddressOrRange(item: string): boolean {
  if (NAMED_RANGES.includes(item)) return true
  const [address = '', prefix, ...rest] = item.split('/')
  const family = isIP(address)
  if (family === 0 || rest.length) return false
  if (prefix === undefined) return true
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128)
}
