import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import semver from 'semver'
import t from 'tap'
import { root } from '../helpers/server-process.js'

/**
 * `npm ci` on a fresh clone installs cleanly on every Node.js the service supports: no package in
 * the lock file asks for a newer one (npm warns, and such a package may use what 20 lacks), and
 * no peer conflict needs `legacy-peer-deps`.
 */
const SUPPORTED = ['20.19.0', '22.12.0', '24.0.0']

t.test('every locked package runs on each supported Node.js', async (t) => {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { engines?: { node?: string } | string[]; dev?: boolean }>
  }
  const refused: string[] = []
  for (const [path, entry] of Object.entries(lock.packages)) {
    const range = !Array.isArray(entry.engines) ? entry.engines?.node : undefined
    if (!range || !semver.validRange(range)) continue
    for (const version of SUPPORTED) {
      if (!semver.satisfies(version, range))
        refused.push(`${path || 'the project'} (node ${range}) on ${version}`)
    }
  }
  t.same(refused, [], 'no package refuses a supported version')
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } }
  t.ok(semver.satisfies('20.19.0', pkg.engines.node), `package.json engines allow 20 (${pkg.engines.node})`)
})

t.test('no npm setting hides a dependency conflict', async (t) => {
  let npmrc = ''
  try {
    npmrc = readFileSync(join(root, '.npmrc'), 'utf8')
  } catch {
    // No .npmrc at all.
  }
  t.notMatch(npmrc, /legacy-peer-deps|force/, '.npmrc does not relax peer resolution')
})
