import { execFileSync, execSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { freshPostgres, REDIS_URL } from '../helpers/backends.js'
import { http, root, startServer } from '../helpers/server-process.js'

/**
 * This machine pulls no images, so the Dockerfile's steps run here instead, as Docker would run
 * them: each stage in a folder of its own standing for its /app, COPY from a clean checkout of
 * the committed tree (the build context), RUN with the stage's ENV. Then the runtime stage's CMD
 * starts and serves. What is not reproduced: the base image (this machine's node stands in for it)
 * the `chown` to the image's `node` user, which does not exist here, and `npm cache clean`, which
 * here would empty the machine's shared npm cache under any other install running meanwhile.
 */
t.setTimeout(600_000)

interface Stage {
  name: string
  dir: string
  env: Record<string, string>
}

t.test('the image runs on the Node.js CI runs the whole suite on', async (t) => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8')
  const ci = readFileSync(join(root, '.ci', 'run'), 'utf8')
  const tested = /^WHOLE_SUITE_NODE=(\d+)$/m.exec(ci)?.[1]
  t.ok(tested, '.ci/run names the Node.js it runs the whole suite on')
  const bases = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1])
  t.ok(bases.length >= 2, 'a build and a runtime stage')
  for (const base of bases) t.equal(base, `node:${tested}-bookworm-slim`, `FROM ${base}: Node.js ${tested}`)
})

t.test('the Dockerfile builds and its runtime stage serves', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'authjwt-docker-'))
  t.teardown(() => rmSync(work, { recursive: true, force: true }))
  // The build context: what is committed, nothing of this working tree's node_modules or dist.
  const context = join(work, 'context')
  execFileSync('git', ['clone', '--quiet', root, context])

  const lines = readFileSync(join(context, 'Dockerfile'), 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
  const stages = new Map<string, Stage>()
  let stage: Stage | undefined
  let cmd: string[] = []
  for (const line of lines) {
    const [op, ...rest] = line.split(/\s+/)
    const args = rest.join(' ')
    if (op === 'FROM') {
      const name = /\bAS\s+(\S+)/i.exec(args)![1]!
      stage = { name, dir: join(work, name), env: {} }
      mkdirSync(stage.dir)
      stages.set(name, stage)
      continue
    }
    if (!stage) throw new Error(`${op} before FROM`)
    if (op === 'WORKDIR') t.equal(args, '/app', 'every stage works in /app')
    else if (op === 'ENV') {
      for (const m of args.matchAll(/(\w+)=(\S+)/g)) stage.env[m[1]!] = m[2]!
    } else if (op === 'COPY') {
      const from = /^--from=(\S+)\s+/.exec(args)
      const paths = args.replace(/^--\S+\s+/, '').split(/\s+/)
      const dest = join(stage.dir, paths.pop()!.replace(/^\.\/?/, ''))
      for (const p of paths) {
        const source = from ? join(stages.get(from[1]!)!.dir, p.replace(/^\/app\/?/, '')) : join(context, p)
        t.ok(existsSync(source), `COPY ${p}${from ? ` from ${from[1]}` : ''}: exists`)
        const target = paths.length > 1 || dest.endsWith('/') ? join(dest, p.split('/').pop()!) : dest
        cpSync(source, target, { recursive: true })
      }
    } else if (op === 'RUN') {
      // /app is the stage's folder; the image's user does not exist on this machine.
      const command = args
        .replaceAll('/app', stage.dir)
        .replace(/&& chown node:node \S+/, '')
        .replace(/&& npm cache clean --force/, '')
      try {
        execSync(command, {
          cwd: stage.dir,
          env: { PATH: process.env.PATH, HOME: process.env.HOME, ...stage.env },
          stdio: 'pipe',
        })
      } catch (err) {
        const e = err as { status?: number; stdout?: Buffer; stderr?: Buffer }
        throw new Error(
          `${stage.name}: RUN ${args} exited ${e.status}:\n${e.stdout?.toString().slice(-2000)}\n${e.stderr?.toString().slice(-2000)}`,
        )
      }
      t.pass(`${stage.name}: RUN ${args.slice(0, 60)}`)
    } else if (op === 'CMD') cmd = JSON.parse(args)
  }
  const runtime = stages.get('runtime')!
  t.same(cmd.slice(0, 1), ['node'], 'CMD runs node itself, so signals reach the server')
  t.notOk(existsSync(join(runtime.dir, 'node_modules', 'typescript')), 'no dev dependencies in the image')
  t.notOk(existsSync(join(runtime.dir, 'src')), 'no sources in the image')
  t.notOk(existsSync(join(runtime.dir, 'test')), 'no tests in the image')

  const { url } = await freshPostgres(t)
  const server = await startServer(
    t,
    {
      ...runtime.env,
      DATA_DIR: join(runtime.dir, 'data'),
      HOST: '127.0.0.1',
      PORT: '0',
      DATABASE_URL: url,
      REDIS_URL,
      REDIS_PREFIX: `docker-test:${Date.now()}:`,
      SIGNING_KEY: 'docker-test-signing-key-0123456789abcdef',
      KEY_ENCRYPTION_KEY: 'docker-test-key-encryption-key-0123456789',
      PUBLIC_URL: 'https://auth.example.com',
      ADMIN_USERNAME: 'dockeradmin',
      ADMIN_PASSWORD: 'docker-admin-password',
    },
    { cwd: runtime.dir, argv: cmd.slice(1) },
  )
  t.equal((await http(server.base, 'GET', '/health/ready')).status, 200, 'ready')
  const login = await http(server.base, 'POST', '/api/v1/auth/token/', {
    body: { username: 'dockeradmin', password: 'docker-admin-password' },
  })
  t.equal(login.status, 200, 'a login, so migrations ran from drizzle/')
  t.equal((await http(server.base, 'GET', '/admin/')).status, 200, 'the console is served from admin/')
  t.notMatch(server.output(), 'open to other users', 'the image’s data folder is owner-only from the start')
  t.equal(await server.stop(), 0, 'SIGTERM: a clean exit')
})
