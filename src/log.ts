import type { Config } from './config.js'

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
export function loggerOptions(config: Pick<Config, 'logLevel'>, pretty = process.stdout.isTTY === true) {
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
    serializers: { err: safeError },
    ...(pretty && {
      transport: { target: 'pino-pretty', options: { translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' } },
    }),
  }
}
