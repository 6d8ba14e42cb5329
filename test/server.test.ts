import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'

// Each subprocess starts tsx and, on PGlite, a database: slow on a loaded machine.
t.setTimeout(300_000)

const root = fileURLToPath(new URL('..', import.meta.url))
const tsx = join(root, 'node_modules', '.bin', 'tsx')

interface Server {
  child: ChildProcess
  base: string
  /** Everything the process wrote so far. */
  output(): string
  /** The output once it contains `text` (or after 30 s). */
  waitFor(text: string): Promise<string>
  stop(): Promise<number | null>
}

/** Starts the server as `npm start` does (embedded defaults unless env says otherwise) on a free port. */
async function start(t: Test, env: Record<string, string>): Promise<Server> {
  const child = spawn(tsx, ['src/server.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: '0',
      LOG_LEVEL: 'info',
      ARGON2_MEMORY_KIB: '1024',
      ARGON2_TIME_COST: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (d) => {
    out += d
  })
  child.stderr!.on('data', (d) => {
    out += d
  })
  const exited = once(child, 'exit')
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  const base = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 90_000)
    const check = () => {
      const m = /listening on (http:\/\/[^\s"]+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        child.stdout!.off('data', check)
        resolve(m[1]!)
      }
    }
    child.stdout!.on('data', check)
    child.once('exit', () => reject(new Error(`server exited:\n${out}`)))
  })
  return {
    child,
    base,
    output: () => out,
    async waitFor(text) {
      // Some start-up lines follow "listening" after a database query.
      for (let waited = 0; !out.includes(text) && waited < 30_000; waited += 100) {
        await new Promise((r) => setTimeout(r, 100))
      }
      return out
    },
    async stop() {
      child.kill('SIGTERM')
      const [code] = await exited
      return code as number | null
    },
  }
}

async function dataDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'authjwt-server-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

t.test('npm start on embedded defaults: serves, explains itself, stops cleanly', async (t) => {
  const dir = await dataDir(t)
  const server = await start(t, { DATA_DIR: dir })
  const log = await server.waitFor('npm run cli -- create-user')
  t.match(log, '/api/v1/schema/swagger-ui/', 'the start-up log gives the docs URL')
  t.match(log, 'npm run cli -- create-user', 'and how to make a first user')
  t.match(log, 'embedded defaults in use', 'and says the embedded backends are in use')

  const live = await fetch(`${server.base}/health/live`)
  t.equal(live.status, 200)
  const ready = await fetch(`${server.base}/health/ready`)
  t.equal(ready.status, 200, 'ready: PGlite and the in-process store answer')
  const docs = await fetch(`${server.base}/api/v1/schema/`)
  t.equal(docs.status, 200)

  t.equal(await server.stop(), 0, 'SIGTERM shuts down with exit code 0')
})

t.test('ADMIN_USERNAME and ADMIN_PASSWORD create a superuser on start', async (t) => {
  const dir = await dataDir(t)
  const password = 'start-admin-pw-0b1c'
  const server = await start(t, { DATA_DIR: dir, ADMIN_USERNAME: 'boss', ADMIN_PASSWORD: password })
  t.match(server.output(), 'created the ADMIN_USERNAME superuser')

  const login = await fetch(`${server.base}/api/v1/auth/token/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'boss', password }),
  })
  t.equal(login.status, 200)
  const { access } = (await login.json()) as { access: string }
  const me = await fetch(`${server.base}/api/v1/auth/users/me/`, {
    headers: { authorization: `Bearer ${access}` },
  })
  t.match(await me.json(), { username: 'boss', is_superuser: true, is_staff: true })

  t.equal(await server.stop(), 0)
  t.notMatch(server.output(), 'npm run cli -- create-user', 'no first-user hint once a user exists')
  t.notMatch(server.output(), password, 'the password never reaches the log')
  t.notMatch(server.output(), access, 'nor does a token')
})

t.test('a bad configuration stops the start with a clear message and exit code 78', async (t) => {
  const child = spawn(tsx, ['src/server.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      PORT: 'eighty',
      DATABASE_URL: 'postgres://svc:db-secret-31@127.0.0.1:1/x',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let err = ''
  child.stderr!.on('data', (d) => {
    err += d
  })
  const [code] = await once(child, 'exit')
  t.equal(code, 78)
  t.match(err, 'PORT: expected a whole number')
  t.match(err, 'SIGNING_KEY: required when NODE_ENV=production')
  t.notMatch(err, 'db-secret-31')
})
