import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { makeApp } from '../helpers/backends.js'
import { root } from '../helpers/server-process.js'

t.setTimeout(120_000)

interface LintReport {
  totals: { errors: number; warnings: number }
  problems: { ruleId: string; severity: string; message: string; location: { pointer: string }[] }[]
}

// Nothing pending: the licence (MIT) is stated with its URL.
const PENDING = new Set<string>()

t.test('the served OpenAPI document lints clean with Redocly’s recommended rules', async (t) => {
  const app = await makeApp(t, 'embedded')
  const res = await app.request({ method: 'GET', url: '/api/v1/schema/' })
  t.equal(res.statusCode, 200)
  const dir = await mkdtemp(join(tmpdir(), 'authjwt-openapi-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'openapi.json')
  await writeFile(file, res.body)
  const report = await new Promise<LintReport>((resolve, reject) =>
    execFile(
      join(root, 'node_modules', '.bin', 'redocly'),
      ['lint', file, '--config', join(root, 'redocly.yaml'), '--format=json'],
      { cwd: root, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, REDOCLY_TELEMETRY: 'off' } },
      // Exit 1 with problems found; the JSON says which.
      (err, stdout) => {
        try {
          resolve(JSON.parse(stdout) as LintReport)
        } catch {
          reject(err ?? new Error(`redocly printed no JSON: ${stdout.slice(0, 500)}`))
        }
      },
    ),
  )
  const unexpected = report.problems.filter((p) => !PENDING.has(p.ruleId))
  t.same(
    unexpected.map((p) => `${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`),
    [],
    'no errors, no warnings',
  )
  const doc = res.json() as {
    paths: Record<string, Record<string, { operationId?: string; security?: unknown }>>
  }
  const operations = Object.values(doc.paths).flatMap((ops) => Object.values(ops))
  const ids = operations.map((op) => op.operationId)
  t.equal(new Set(ids).size, ids.length, `${ids.length} operations, each with its own operationId`)
  t.same(doc.paths['/api/v1/auth/token/']?.post?.security, [], 'login is explicitly public')
  t.same(doc.paths['/api/v1/auth/users/me/']?.get?.security, [{ bearerAuth: [] }], 'users/me needs a bearer')
})
