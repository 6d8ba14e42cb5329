import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { runServer, startServer } from '../helpers/server-process.js'

// Each subprocess starts tsx and, on PGlite, a database: slow on a loaded machine.
t.setTimeout(300_000)

async function dataDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'authjwt-server-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

t.test('npm start on embedded defaults: serves, explains itself, stops cleanly', async (t) => {
  const dir = await dataDir(t)
  const server = await startServer(t, { DATA_DIR: dir })
  await server.waitFor('npm run cli -- create-user')
  const log = server.output()
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
  const server = await startServer(t, { DATA_DIR: dir, ADMIN_USERNAME: 'boss', ADMIN_PASSWORD: password })
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
  const { code, output } = await runServer({
    NODE_ENV: 'production',
    PORT: 'eighty',
    DATABASE_URL: 'postgres://svc:db-secret-31@127.0.0.1:1/x',
  })
  t.equal(code, 78)
  t.match(output, 'PORT: expected a whole number')
  t.match(output, 'SIGNING_KEY: required when NODE_ENV=production')
  t.notMatch(output, 'db-secret-31')
})
