import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fp from 'fastify-plugin'

/** The console's folder at the project root, found from here whether running from plugins/ or dist/plugins/. */
export function consoleFolder(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'admin')
    if (existsSync(join(candidate, 'index.html'))) return candidate
    dir = dirname(dir)
  }
  throw new Error('admin/ console folder not found')
}

// The page runs only its own script and stylesheet and talks only to this origin: an injected
// string can neither run nor phone home, and no other site may frame the console.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ')

const FILES = [
  { url: '/admin/', file: 'index.html', type: 'text/html; charset=utf-8' },
  { url: '/admin/console.js', file: 'console.js', type: 'application/javascript; charset=utf-8' },
  { url: '/admin/console.css', file: 'console.css', type: 'text/css; charset=utf-8' },
] as const

/**
 * The operator console: three static files served by explicit GET routes (nothing else under
 * /admin/ is readable, and the POST API alias /admin/invalidate-all-tokens/ stays untouched).
 * The files are read once at start; the console itself uses only the public JSON API.
 */
export default fp(
  async (app) => {
    const folder = consoleFolder()
    for (const { url, file, type } of FILES) {
      const body = readFileSync(join(folder, file))
      // ignoreTrailingSlash makes '/admin/' answer '/admin' too.
      app.get(url, { schema: { hide: true } }, async (_request, reply) =>
        reply
          .type(type)
          .header('cache-control', 'no-cache')
          .header('content-security-policy', CSP)
          .header('referrer-policy', 'no-referrer')
          .header('x-frame-options', 'DENY')
          .send(body),
      )
    }
  },
  { name: 'console' },
)
