import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import semver from 'semver'
import t from 'tap'
import { root } from '../helpers/server-process.js'

/**
 * `npm ci` on a fresh clone installs cleanly on every Node.js the service supports: no package in
 * the lock file asks for a newer one (npm warns, and such a package may use what that Node lacks),
 * and no peer conflict needs `legacy-peer-deps`. Supported are the lines CI tests (.ci/run): 24,
 * the whole suite, and 22, the contract tests, each from the first release every locked package
 * accepts (22.12). Node.js 20 reached end of life in April 2026 and is no longer admitted.
 */
const SUPPORTED = ['22.12.0', '24.0.0']
const ENGINES = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).engines.node as string

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
  for (const version of SUPPORTED)
    t.ok(semver.satisfies(version, ENGINES), `package.json engines (${ENGINES}) admit ${version}`)
  t.notOk(semver.satisfies('20.19.0', ENGINES), `package.json engines (${ENGINES}) no longer admit 20`)
})

t.test('every Node.js line package.json admits is one CI tests', async (t) => {
  const ci = readFileSync(join(root, '.ci', 'run'), 'utf8')
  const tested = ['WHOLE_SUITE_NODE', 'CONTRACT_NODE'].map((name) => {
    const major = new RegExp(`^${name}=(\\d+)$`, 'm').exec(ci)?.[1]
    t.ok(major, `.ci/run sets ${name}`)
    return Number(major)
  })
  t.same([...tested].sort(), SUPPORTED.map((v) => semver.major(v)).sort(), 'CI tests the supported lines')
  const oldest = semver.minVersion(ENGINES)!
  t.ok(tested.includes(oldest.major), `the oldest Node.js engines admit (${oldest}) is a line CI tests`)
})

t.test('this Node.js is one package.json admits', async (t) => {
  // `npm test` on an older node (this machine's is 20) says what to do instead of passing on a
  // runtime nobody supports.
  t.ok(
    semver.satisfies(process.versions.node, ENGINES),
    `Node.js ${process.versions.node} is not supported (package.json engines: ${ENGINES}). ` +
      'Run the tests on 24: `export PATH="$(.ci/fetch-node 24):$PATH"` (downloads it once into .ci/node/), then `npm test`.',
  )
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
