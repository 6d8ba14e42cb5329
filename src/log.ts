import type { ServerConfig } from './config/server.js'

// Values that must never reach a log line, whatever carried them there: password hashes (argon2
// PHC strings and Django's formats) and JWTs.
const SECRET_PATTERNS: [RegExp, string][] = [
  [/\$argon2(?:id|i|d)\$[^\s"']*/g, '[password hash]'],
  [
    /\b(?:pbkdf2_sha256|pbkdf2_sha1|bcrypt_sha256|bcrypt|scrypt|sha1|md5|argon2)\$[^\s"',]+/g,
    '[password hash]',
  ],
  [/eyJ[\w-]*\.[\w-]*\.[\w-]*/g, '[token]'],
]

export function scrub(text: string): string {
  let out = text
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement)
  return out
}

// Query parameters that carry a secret: a mailed reset or verification token, an authorization
// code, a refresh token, a client secret. Matched within a name, so `mfa_token` and
// `client_secret` are covered too; redacting a harmless one costs nothing.
const SECRET_PARAMETER = /token|code|secret|password|refresh|access|key|signature|otp|assertion|state/i

/**
 * A request's URL as a log line may show it: the value of every secret-bearing query parameter
 * replaced, and anything shaped like a secret (a JWT in the path) scrubbed.
 */
export function loggableUrl(url: string): string {
  const start = url.indexOf('?')
  if (start === -1) return scrub(url)
  const query = url
    .slice(start + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=')
      if (eq === -1) return pair
      return SECRET_PARAMETER.test(decodedName(pair.slice(0, eq))) ? `${pair.slice(0, eq)}=[redacted]` : pair
    })
  return scrub(`${url.slice(0, start + 1)}${query.join('&')}`)
}

function decodedName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '))
  } catch {
    return name
  }
}

/** Fastify's request serializer (the per-request lines at debug and trace), with the URL made loggable. */
function requestValue(req: {
  method: string
  url: string
  headers?: Record<string, string | string[] | undefined>
  host?: string
  ip?: string
  socket?: { remotePort?: number }
}) {
  return {
    method: req.method,
    url: loggableUrl(req.url),
    version: req.headers?.['accept-version']?.toString(),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  }
}

export interface SafeError {
  [key: string]: unknown
  type: string
  message: string
  code?: string
  stack: string
  cause?: SafeError
}

/**
 * An error as it may be logged. A failed query's error carries its parameters (a password hash,
 * a token) in its message and fields: only the statement's text, which holds placeholders, is
 * kept. Every other field is dropped, and what remains is scrubbed of anything shaped like a
 * secret.
 */
export function safeError(err: unknown, depth = 0): SafeError {
  if (!(err instanceof Error)) return { type: typeof err, message: scrub(String(err)), stack: '' }
  // Drizzle's query error (it keeps the name "Error") holds the statement and its parameters.
  const { query, params } = err as { query?: unknown; params?: unknown }
  const message = typeof query === 'string' && params !== undefined ? `Failed query: ${query}` : err.message
  const frames = (err.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line))
  const code = (err as { code?: unknown }).code
  const out: SafeError = {
    type: err.name,
    message: scrub(message),
    stack: scrub([`${err.name}: ${message}`, ...frames].join('\n')),
  }
  if (typeof code === 'string') out.code = code
  if (err.cause !== undefined && depth < 3) out.cause = safeError(err.cause, depth + 1)
  return out
}

/** Pino's options: the configured level, secrets redacted, readable lines on a terminal. */
export function loggerOptions(
  config: Pick<ServerConfig, 'logLevel'>,
  pretty = process.stdout.isTTY === true,
) {
  return {
    level: config.logLevel,
    // Tokens and passwords never reach the logs.
    redact: [
      'req.headers.authorization',
      'req.headers.cookie',
      '*.password',
      '*.refresh',
      '*.access',
      '*.token',
    ],
    serializers: { err: safeError, req: requestValue },
    ...(pretty && {
      transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } },
    }),
  }
}
