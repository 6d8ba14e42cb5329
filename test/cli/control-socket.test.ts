import { execFile } from 'node:child_process'
import { chmodSync, chownSync, lstatSync, mkdirSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import t, { type Test } from 'tap'
import { controlSocketPath } from '../../src/cli/control.js'
import { childEnv, http, root, startServer, tsx } from '../helpers/server-process.js'

/**
 * A deep DATA_DIR puts the control socket in a folder of tmp whose name anyone can work out from
 * DATA_DIR. The server and the CLI use that folder only when it is their user's own, mode 0700:
 * else someone else could listen there and receive an operator's commands, passwords included.
 */

t.setTimeout(300_000)

const SIGNING_KEY = 'control-socket-test-signing-key-of-32-bytes'

/** A DATA_DIR deep enough that its socket moves to tmp, and that socket's path. */
async function deepDataDir(t: Test) {
  const base = await mkdtemp(join(tmpdir(), 'authjwt-sock-'))
  const dataDir = join(base, 'd'.repeat(90))
  const socket = controlSocketPath(dataDir)
  t.teardown(async () => {
    await rm(base, { recursive: true, force: true })
    await rm(dirname(socket), { recursive: true, force: true })
  })
  t.ok(socket.startsWith(join(tmpdir(), 'authjwt-')), `the socket moved to tmp: ${socket}`)
  return { dataDir, socket, env: { DATA_DIR: dataDir, SIGNING_KEY } }
}

function cli(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      tsx,
      ['src/cli.ts', ...args],
      { cwd: root, timeout: 90_000, env: childEnv(env) },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    )
  })
}

/** Someone else's listener on the socket path, answering as the server would; what it received. */
async function squatter(t: Test, socket: string) {
  const received: string[] = []
  const server = createServer((connection) => {
    connection.on('data', (data) => {
      received.push(String(data))
      connection.end('{"out":"Created user \\"eve\\" (id 1)."}\n{"exit":0}\n')
    })
  })
  await new Promise<void>((resolve) => server.listen(socket, resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return received
}

const createUser = [
  'create-user',
  '--username',
  'op',
  '--email',
  'op@example.com',
  '--password',
  'op-secret-pw-1',
  '--superuser',
]

t.test(
  'a deep DATA_DIR: the server makes the socket folder its own, and the CLI goes through it',
  async (t) => {
    const { socket, env } = await deepDataDir(t)
    const server = await startServer(t, env)
    const folder = lstatSync(dirname(socket))
    t.equal(folder.mode & 0o777, 0o700, 'the folder is 0700')
    t.equal(folder.uid, process.getuid?.(), 'and ours')
    const created = await cli(createUser, env)
    t.equal(created.code, 0, created.stderr)
    t.match(created.stdout, 'through the running server')
    const login = await http(server.base, 'POST', '/api/v1/auth/token/', {
      body: { username: 'op', password: 'op-secret-pw-1' },
    })
    t.equal(login.status, 200, 'the user landed in the server')
  },
)

async function squatted(t: Test, prepare: (folder: string) => void, why: RegExp) {
  const { socket, env } = await deepDataDir(t)
  mkdirSync(dirname(socket), { mode: 0o700 })
  const received = await squatter(t, socket)
  prepare(dirname(socket))

  const server = await startServer(t, env)
  await server.waitFor('control socket', 30_000)
  const said = server.output()
  t.match(said, dirname(socket), 'the server names the folder')
  t.match(said, why, 'and what is wrong with it')
  t.notMatch(said, 'another server of this user', 'and does not take the squatter for one of its own')

  for (const args of [createUser, ['invalidate-all-tokens', '--confirm']]) {
    const run = await cli(args, env)
    t.not(run.code, 0, `${args[0]}: refused`)
    t.match(run.stderr, dirname(socket), `${args[0]}: the CLI names the folder`)
    t.match(run.stderr, why)
    t.match(run.stderr, 'nothing was sent')
    t.notMatch(run.stdout, 'Created user', 'no answer from the squatter is shown')
  }
  t.same(received, [], 'the squatter received nothing: no command, no password')
  t.equal(await server.stop(), 0)
}

t.test('a socket folder open to others is refused by the server and the CLI', async (t) => {
  await squatted(t, (folder) => chmodSync(folder, 0o777), /mode 777/)
})

t.test('a socket folder of another user is refused by the server and the CLI', async (t) => {
  if (process.getuid?.() !== 0) {
    t.comment('needs root to give a folder to another user; the mode check above runs everywhere')
    t.pass('not run as root')
    return
  }
  await squatted(
    t,
    (folder) => {
      chownSync(join(folder, 'control.sock'), 65534, 65534)
      chownSync(folder, 65534, 65534)
    },
    /uid 65534/,
  )
})
