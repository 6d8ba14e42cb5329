import { readdirSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { makeApp } from '../helpers/backends.js'

/**
 * The console's script is ES modules served as they are: what a browser fetches when it follows
 * the imports from /admin/console.js, and that no address reaches any other file.
 */
const ADMIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'admin')

/** The relative imports of a module, as a browser resolves them against its URL. */
function importsOf(url: string, source: string): string[] {
  const specs = [...source.matchAll(/^(?:import|export)\s[^'"]*?from\s+'(\.{1,2}\/[^']+)'/gm)]
  return specs.map((m) => new URL(m[1] as string, `http://console${url}`).pathname)
}

/** A GET sent exactly as written: no client-side normalising of `..` or `%2e` (curl --path-as-is). */
function rawGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => {
        body += chunk
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

t.test('every module the console imports is served as JavaScript under the same policy', async (t) => {
  const h = await makeApp(t, 'embedded')
  const page = await h.request({ method: 'GET', url: '/admin/' })
  const csp = page.headers['content-security-policy']

  const seen = new Set<string>()
  const queue = ['/admin/console.js']
  while (queue.length) {
    const url = queue.shift() as string
    if (seen.has(url)) continue
    seen.add(url)
    const res = await h.request({ method: 'GET', url })
    t.equal(res.statusCode, 200, `${url} is served`)
    // Browsers refuse a module whose type is not JavaScript.
    t.match(res.headers['content-type'], /^application\/javascript/, `${url} is JavaScript`)
    t.equal(res.headers['content-security-policy'], csp, `${url} carries the page's policy`)
    t.equal(res.headers['cache-control'], 'no-cache')
    t.notMatch(res.body, /innerHTML|insertAdjacentHTML|document\.write|eval\(/, `${url} never writes markup`)
    queue.push(...importsOf(url, res.body))
  }
  const files = readdirSync(join(ADMIN, 'console')).filter((name) => name.endsWith('.js'))
  t.same(
    [...seen].filter((url) => url.startsWith('/admin/console/')).sort(),
    files.map((name) => `/admin/console/${name}`).sort(),
    'the imports reach every module in admin/console/, and only those',
  )
  t.ok(seen.size > 5, `the script is split into modules (${seen.size} files)`)
})

t.test('the stylesheets the page links are served as CSS, in the order of one sheet', async (t) => {
  const h = await makeApp(t, 'embedded')
  const page = await h.request({ method: 'GET', url: '/admin/' })
  const links = [...page.body.matchAll(/<link rel="stylesheet" href="([^"]+)">/g)].map((m) => m[1])
  // The base (its custom properties and [hidden] rule) comes first; the parts only add to it.
  t.same(links, ['/admin/console.css', '/admin/console/lists.css', '/admin/console/pages.css'])
  for (const url of links) {
    const res = await h.request({ method: 'GET', url: url as string })
    t.equal(res.statusCode, 200, `${url} is served`)
    t.match(res.headers['content-type'], /^text\/css/, `${url} is CSS`)
    t.equal(res.headers['content-security-policy'], page.headers['content-security-policy'])
  }
  const parts = readdirSync(join(ADMIN, 'console')).filter((name) => name.endsWith('.css'))
  t.same(
    links.filter((url) => url?.startsWith('/admin/console/')).sort(),
    parts.map((name) => `/admin/console/${name}`).sort(),
    'the page links every stylesheet part in admin/console/',
  )
})

t.test('no address under /admin/ reads a file the console does not list', async (t) => {
  const h = await makeApp(t, 'embedded')
  await h.app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = h.app.server.address() as AddressInfo
  for (const path of ['/admin/console/api.js', '/admin/console/pages.css']) {
    t.equal((await rawGet(port, path)).status, 200, `${path} is listed and served`)
  }

  for (const path of [
    '/admin/console/../../package.json',
    '/admin/console/../console.js/../../package.json',
    '/admin/console/%2e%2e/%2e%2e/package.json',
    '/admin/console/..%2f..%2fpackage.json',
    '/admin/console/..%5c..%5cpackage.json',
    '/admin/console/%2e%2e%2f%2e%2e%2fsrc%2fconfig.ts',
    '/admin/console/./api.js',
    '/admin/console//api.js',
    '/admin/console/api.js%00.css',
    '/admin/console/pages.css.map',
    '/admin/console/API.js',
    '/admin/console/nope.js',
    '/admin/console/',
    '/admin/console',
    '/admin/console.css/../console/api.js',
    '/admin/index.html',
  ]) {
    const res = await rawGet(port, path)
    t.equal(res.status, 404, `${path} is not served`)
    t.notMatch(res.body, /"dependencies"|export |import /, `${path} shows no file content`)
  }
})
