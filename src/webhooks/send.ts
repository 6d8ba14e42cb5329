import http from 'node:http'
import https from 'node:https'
import type { LookupFunction } from 'node:net'
import { refusedTarget, TargetRefused } from './target-guard.js'

/** What one attempt came to: the receiver's status (none when it never answered) and why it failed. */
export interface AttemptOutcome {
  statusCode: number | null
  latencyMs: number
  /** A class of failure (never a message that could quote the receiver); null when delivered. */
  error: string | null
  responseExcerpt: string | null
}

export interface SendOptions {
  timeoutMs: number
  allowPrivate: boolean
  /** Resolves and refuses blocked addresses at connect time (target-guard.ts). */
  lookup: LookupFunction
  agents: { http: http.Agent; https: https.Agent }
  /** Aborted when the service shuts down: the attempt ends at once and is tried again later. */
  stop: AbortSignal
}

/** How much of a receiver's answer is kept for the operator. */
const EXCERPT_CHARS = 500
/** How much of an answer is read at all: a receiver may stream forever. */
const READ_LIMIT = 4096

/**
 * POSTs one signed body with node:http, not fetch: only node:http takes our own `lookup`, which
 * is where the SSRF guard sees the address actually connected to. Redirects are never followed
 * (a 3xx is a failed attempt): following one would let a receiver steer us anywhere.
 */
export function postWebhook(
  url: string,
  headers: Record<string, string>,
  body: string,
  options: SendOptions,
): Promise<AttemptOutcome> {
  const started = performance.now()
  const outcome = (
    statusCode: number | null,
    error: string | null,
    excerpt: string | null,
  ): AttemptOutcome => ({
    statusCode,
    latencyMs: Math.round(performance.now() - started),
    error,
    responseExcerpt: excerpt,
  })
  const refused = refusedTarget(url, options.allowPrivate)
  if (refused) return Promise.resolve(outcome(null, 'target_refused', null))
  const target = new URL(url)
  const client = target.protocol === 'https:' ? https : http
  return new Promise((done) => {
    // A timer and one listener, not AbortSignal.any(AbortSignal.timeout(...)): those cost a weak
    // reference and a finalizer per attempt, a measurable share of an attempt's CPU.
    let settled = false
    let timer: NodeJS.Timeout | undefined
    const resolve = (result: AttemptOutcome) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      options.stop.removeEventListener('abort', onStop)
      done(result)
    }
    const onStop = () => request.destroy(new Error('shutdown'))
    const request = client.request(
      target,
      {
        method: 'POST',
        agent: target.protocol === 'https:' ? options.agents.https : options.agents.http,
        lookup: options.lookup,
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
          'user-agent': 'authjwt-webhooks/1',
        },
      },
      (response) => {
        const chunks: Buffer[] = []
        let size = 0
        const finish = () => {
          const status = response.statusCode ?? 0
          const text = Buffer.concat(chunks).toString('utf8').slice(0, EXCERPT_CHARS)
          resolve(outcome(status, httpError(status), text || null))
        }
        response.on('data', (chunk: Buffer) => {
          size += chunk.length
          if (size <= READ_LIMIT) chunks.push(chunk)
          else {
            // Enough to show; the rest is not waited for.
            response.destroy()
            finish()
          }
        })
        response.on('end', finish)
        response.on('error', (err) =>
          resolve(outcome(response.statusCode ?? null, errorClass(err, options.stop), null)),
        )
      },
    )
    request.on('error', (err) => resolve(outcome(null, errorClass(err, options.stop), null)))
    // Armed once the request exists: a request() that throws leaves no timer behind to fire.
    timer = setTimeout(() => request.destroy(new AttemptTimeout()), options.timeoutMs)
    options.stop.addEventListener('abort', onStop, { once: true })
    if (options.stop.aborted) onStop()
    request.end(body)
  })
}

class AttemptTimeout extends Error {
  override name = 'TimeoutError'
}

function httpError(status: number): string | null {
  if (status >= 200 && status < 300) return null
  if (status >= 300 && status < 400) return 'redirect_not_followed'
  return 'http_error'
}

/** A class of failure for the attempt row and the console: what to look at, not a message. */
function errorClass(err: unknown, stop: AbortSignal): string {
  if (stop.aborted) return 'shutdown'
  if (err instanceof TargetRefused) return 'target_refused'
  const e = err as { name?: string; code?: string }
  if (e.name === 'AbortError' || e.name === 'TimeoutError' || e.code === 'ABORT_ERR') return 'timeout'
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'connection_refused'
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection_reset'
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'dns_failed'
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'unreachable'
  }
  if (typeof e.code === 'string' && /CERT|SSL|TLS/.test(e.code)) return 'tls_failed'
  return 'send_failed'
}
