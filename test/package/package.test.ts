import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { root } from '../helpers/server-process.js'

/**
 * The kit and the client as a third party gets them: the project packed with `npm pack` (which
 * builds it through `prepare`), installed into a scratch project, and both entry points imported
 * from there. Offline: the scratch project's lockfile is this project's, so npm takes every
 * dependency from its cache, as `npm ci` would.
 */

t.setTimeout(600_000)

const run = promisify(execFile)

/** npm without the test runner's hooks (NODE_OPTIONS), which would follow it into every script. */
function npm(args: string[], cwd: string) {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => name !== 'NODE_OPTIONS' && !name.startsWith('_TAPJS')),
  )
  return run('npm', args, { cwd, env, maxBuffer: 64 * 1024 * 1024 })
}

/** What the scratch project runs: both entry points, each doing its main job. */
const CHECK = `
import { generateKeyPairSync } from 'node:crypto'
import { createServer } from 'node:http'
import Fastify from 'fastify'
import { AuthClient, ApiRequestError } from 'authjwt/client'
import authjwt from 'authjwt/fastify'

const { publicKey } = generateKeyPairSync('ed25519')
const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'EdDSA', use: 'sig' }
// Our service, as far as this check needs it: its key set, and a 401 for anything else.
const jwks = createServer((req, res) => {
  if (req.url === '/jwks') return res.end(JSON.stringify({ keys: [jwk] }))
  res.writeHead(401, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ detail: 'Authentication credentials were not provided.', code: 'not_authenticated' }))
})
await new Promise((resolve) => jwks.listen(0, '127.0.0.1', resolve))
const jwksUrl = 'http://127.0.0.1:' + jwks.address().port + '/jwks'

const app = Fastify()
await app.register(authjwt, { jwksUrl, redisUrl: false })
app.get('/orders', { config: { authjwt: true } }, async () => ({ orders: [] }))
const orders = await app.inject({ method: 'GET', url: '/orders' })

const client = new AuthClient({ baseUrl: jwksUrl.replace('/jwks', '') })
const refused = await client.me().catch((err) => err)

console.log(JSON.stringify({
  kit: orders.statusCode,
  client: refused instanceof ApiRequestError && refused.status,
}))
await app.close()
jwks.close()
`

const TYPES = `
import { AuthClient, type Tokens } from 'authjwt/client'
import authjwt, { type AuthjwtOptions } from 'authjwt/fastify'

const tokens: Tokens = { access: 'a', refresh: 'r' }
const client = new AuthClient({ baseUrl: 'http://127.0.0.1:8000', tokens })
const options: AuthjwtOptions = { jwksUrl: 'http://127.0.0.1:8000/.well-known/jwks.json', redisUrl: false }
export const used = [client.current?.access, options.jwksUrl, typeof authjwt]
`

t.test('npm pack, installed in a scratch project: authjwt/client and authjwt/fastify work', async (t) => {
  const scratch = await mkdtemp(join(tmpdir(), 'authjwt-package-'))
  t.teardown(() => rm(scratch, { recursive: true, force: true }))

  const packed = await npm(['pack', '--json', '--pack-destination', scratch], root)
  const [{ filename, files }] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }]
  const paths = files.map((f) => f.path)
  for (const file of [
    'dist/src/client/index.js',
    'dist/src/client/index.d.ts',
    'dist/src/kit/fastify.js',
    'dist/src/kit/fastify.d.ts',
    'dist/schema/wire.d.ts',
    'scripts/patch-postgres.mjs',
  ]) {
    t.ok(paths.includes(file), `the package holds ${file}`)
  }
  t.notOk(
    paths.some((p) => p.startsWith('test/') || p.startsWith('bench/') || p.startsWith('src/')),
    'and neither the tests, the benchmarks nor the TypeScript sources',
  )

  // The consumer: only authjwt, from the tarball; its dependencies locked as here (so offline).
  const ours = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'))
  const app = join(scratch, 'app')
  const tarball = `file:../${filename}`
  const dependencies = { authjwt: tarball }
  const packages: Record<string, unknown> = { '': { name: 'scratch', dependencies } }
  for (const [path, entry] of Object.entries(lock.packages as Record<string, { dev?: boolean }>)) {
    if (path !== '' && !entry.dev) packages[path] = entry
  }
  packages['node_modules/authjwt'] = {
    version: ours.version,
    resolved: tarball,
    hasInstallScript: true,
    dependencies: ours.dependencies,
    engines: ours.engines,
  }
  mkdirSync(app)
  // Overrides act at the root only: the consumer states the same ones to match the lockfile.
  const consumer = { name: 'scratch', private: true, type: 'module', dependencies, overrides: ours.overrides }
  writeFileSync(join(app, 'package.json'), JSON.stringify(consumer, null, 2))
  writeFileSync(
    join(app, 'package-lock.json'),
    JSON.stringify({ name: 'scratch', lockfileVersion: 3, requires: true, packages }, null, 2),
  )
  await npm(['ci', '--offline', '--no-audit', '--no-fund'], app)

  writeFileSync(join(app, 'check.mjs'), CHECK)
  const { stdout } = await run(process.execPath, ['check.mjs'], { cwd: app })
  t.same(JSON.parse(stdout), { kit: 401, client: 401 }, 'the kit guards a route; the client asks and hears')

  // A TypeScript consumer finds the declarations through the same exports.
  writeFileSync(join(app, 'types.ts'), TYPES)
  const tsconfig = { compilerOptions: { module: 'nodenext', strict: true, noEmit: true, skipLibCheck: true } }
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ ...tsconfig, files: ['types.ts'] }))
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  const typed = await run(process.execPath, [tsc, '-p', app], { cwd: app }).then(
    () => '',
    (err: { stdout: string }) => err.stdout,
  )
  t.equal(typed, '', 'types.ts type-checks against the installed declarations')
})
