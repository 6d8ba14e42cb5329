import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { chmodSync, lstatSync, readdirSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { childEnv, http, root, startServer } from '../helpers/server-process.js'

/**
 * DATA_DIR holds the embedded database (password hashes in its WAL), the generated keys, the mail
 * outbox and the control socket: it and everything under it belong to the server's user alone.
 */

t.setTimeout(240_000)

const ADMIN = { ADMIN_USERNAME: 'modesadmin', ADMIN_PASSWORD: 'modes-admin-password' }

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'authjwt-modes-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** Every folder and file under `dir` (itself included) that other users may read, write or enter. */
function openToOthers(dir: string): string[] {
  const open: string[] = []
  const visit = (path: string) => {
    const stat = lstatSync(path)
    if (stat.isSymbolicLink()) return
    if (stat.mode & 0o077) open.push(`${path.slice(dir.length) || '/'} ${(stat.mode & 0o777).toString(8)}`)
    if (stat.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name))
  }
  visit(dir)
  return open
}

function count(dir: string): { files: number; folders: number } {
  const counted = { files: 0, folders: 0 }
  const visit = (path: string) => {
    const stat = lstatSync(path)
    if (stat.isDirectory()) {
      counted.folders++
      for (const name of readdirSync(path)) visit(join(path, name))
    } else if (stat.isFile()) counted.files++
  }
  visit(dir)
  return counted
}

/** Logs in the admin: a write to the WAL. */
async function use(base: string): Promise<void> {
  const login = await http(base, 'POST', '/api/v1/auth/token/', {
    body: { username: ADMIN.ADMIN_USERNAME, password: ADMIN.ADMIN_PASSWORD },
  })
  if (login.status !== 200) throw new Error(`login: ${login.status} ${login.text}`)
}

t.test('a fresh DATA_DIR is owner-only after a real start: folders 0700, files 0600', async (t) => {
  const dataDir = join(await tempDir(t), 'data') // created by the server
  const server = await startServer(t, { DATA_DIR: dataDir, ...ADMIN })
  await use(server.base)
  const { files, folders } = count(dataDir)
  t.ok(files > 100 && folders > 10, `the embedded database is there (${files} files, ${folders} folders)`)
  t.same(openToOthers(dataDir), [], 'while it runs, nothing is open to other users')
  t.notMatch(server.output(), 'open to other users', 'and there was nothing to report')
  t.equal(await server.stop(), 0)
  t.same(openToOthers(dataDir), [], 'nor after it stopped')
})

t.test('a DATA_DIR left open to others is made owner-only at start, and the log says so', async (t) => {
  const dataDir = join(await tempDir(t), 'data')
  const first = await startServer(t, { DATA_DIR: dataDir, ...ADMIN })
  t.equal(await first.stop(), 0)
  // As an older version left it: folders 0755 (0777 for one), files 0666.
  const loosen = (path: string) => {
    const stat = lstatSync(path)
    if (stat.isDirectory()) {
      chmodSync(path, path.endsWith('pglite') ? 0o777 : 0o755)
      for (const name of readdirSync(path)) loosen(join(path, name))
    } else chmodSync(path, 0o666)
  }
  loosen(dataDir)
  const before = openToOthers(dataDir).length
  t.ok(before > 100, `${before} entries open to others`)

  const second = await startServer(t, { DATA_DIR: dataDir, ...ADMIN })
  t.match(
    second.output(),
    /DATA_DIR .*: \d+ files? and \d+ folders? were open to other users; made them owner-only/,
  )
  await use(second.base)
  t.same(openToOthers(dataDir), [], 'everything owner-only now')
  t.equal(await second.stop(), 0)
})

t.test('a DATA_DIR the server cannot make its own is refused, in one sentence', async (t) => {
  if (process.getuid?.() !== 0) {
    t.comment('needs root to run the server as another user than the folder’s owner; the check is the same')
    t.pass('not run as root')
    return
  }
  // The folder belongs to root and is open to everyone; the server runs as nobody.
  const parent = await tempDir(t)
  chmodSync(parent, 0o755)
  const dataDir = join(parent, 'data')
  const first = await startServer(t, { DATA_DIR: dataDir, ...ADMIN })
  t.equal(await first.stop(), 0)
  chmodSync(dataDir, 0o777)
  chmodSync(join(dataDir, 'pglite'), 0o777)

  // Through env(1), which drops the test runner's NODE_OPTIONS: its hooks write into this worktree.
  const child = spawn(
    '/usr/bin/env',
    ['-u', 'NODE_OPTIONS', process.execPath, '--import', 'tsx', 'src/server.ts'],
    {
      cwd: root,
      env: childEnv({ DATA_DIR: dataDir, PORT: '0', HOME: parent, ...ADMIN }),
      stdio: ['ignore', 'pipe', 'pipe'],
      uid: 65534,
      gid: 65534,
    },
  )
  let output = ''
  child.stdout.on('data', (d) => {
    output += d
  })
  child.stderr.on('data', (d) => {
    output += d
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000)
  const [code] = await once(child, 'exit')
  clearTimeout(timer)
  t.equal(code, 78, 'a configuration problem')
  t.match(output, new RegExp(`^DATA_DIR ${dataDir}: .*open to other users.*not this server's user.*\\n$`))
  t.notMatch(output, /\n\s+at /, 'no stack')
})
