import { execFileSync, spawn } from 'node:child_process'
import { pbkdf2Sync, randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type autocannon from 'autocannon'
import postgres from 'postgres'
import { loadConfig } from '../src/config.js'
import { nodeRsCeiling } from './argon2.js'
import { loadSample, summarizeLoad } from './load.js'

/**
 * `npm run bench:django [-- --users 100000 --slices 3 --seconds 3]`, on PostgreSQL:
 * 1. a Django database with N synthetic users, all with one pbkdf2_sha256 hash at Django's
 *    260,000 iterations (the import copies hashes, it never computes one);
 * 2. `import-django --from` into a fresh database through the built CLI, timed as a whole (reading,
 *    planning, writing), then the same import again (nothing to change);
 * 3. the server on that database: logins of users still on pbkdf2 (each login verifies pbkdf2 and
 *    writes an argon2id hash), then logins of upgraded users, in slices alternating with argon2id
 *    ceiling slices on the idle machine, as `npm run bench` measures login.
 * Writes bench/results/django.md.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const { values: args } = parseArgs({
  options: {
    users: { type: 'string', default: '100000' },
    slices: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '8' },
  },
})
const USERS = Number(args.users)
const PASSWORD = 'bench-django-password'
const PG_ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/postgres'
const SIGNING_KEY = 'bench-signing-key-0123456789abcdef-0123456789abcdef'

function djangoHash(): string {
  const salt = randomBytes(16).toString('base64url').slice(0, 22)
  const dk = pbkdf2Sync(PASSWORD, salt, 260_000, 32, 'sha256').toString('base64')
  return `pbkdf2_sha256$260000$${salt}$${dk}`
}

async function database(admin: postgres.Sql, name: string): Promise<string> {
  await admin.unsafe(`create database ${name}`)
  const url = new URL(PG_ADMIN_URL)
  url.pathname = `/${name}`
  return url.toString()
}

async function fillDjango(url: string) {
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  await sql.unsafe(`create table auth_user (
    id serial primary key, password varchar(128) not null, last_login timestamptz,
    is_superuser boolean not null, username varchar(150) not null unique, first_name varchar(150) not null,
    last_name varchar(150) not null, email varchar(254) not null, is_staff boolean not null,
    is_active boolean not null, date_joined timestamptz not null)`)
  await sql`insert into auth_user (password, last_login, is_superuser, username, first_name, last_name,
      email, is_staff, is_active, date_joined)
    select ${djangoHash()}, now() - (g % 300) * interval '1 day', false, 'user' || g, 'First' || g,
      'Last' || g, 'user' || g || '@example.com', g % 100 = 0, true, now() - g * interval '1 minute'
    from generate_series(1, ${USERS}) g`
  await sql.end()
}

function importOnce(env: NodeJS.ProcessEnv, from: string): { seconds: number; summary: string } {
  const started = performance.now()
  const out = execFileSync(
    process.execPath,
    [join(root, 'dist', 'src', 'cli.js'), 'import-django', '--from', from],
    {
      env,
      encoding: 'utf8',
    },
  )
  return { seconds: (performance.now() - started) / 1000, summary: out.trim().split('\n').at(-1) ?? '' }
}

async function main() {
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' })
  const id = randomBytes(4).toString('hex')
  const admin = postgres(PG_ADMIN_URL, { max: 1, onnotice: () => {} })
  const [source, target] = [`authjwt_bench_django_${id}`, `authjwt_bench_ours_${id}`]
  const port = 20_000 + Math.floor(Math.random() * 20_000)
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    SIGNING_KEY,
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    KEY_ENCRYPTION_KEY: 'bench-key-encryption-key-0123456789abcdef-01234567',
    LOG_LEVEL: 'warn',
    PORT: String(port),
    LOGIN_RATE_LIMIT: '1000000',
    LOGIN_ACCOUNT_RATE_LIMIT: '1000000',
    REDIS_URL: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_PREFIX: `bench:${id}:`,
  }
  try {
    const sourceUrl = await database(admin, source)
    env.DATABASE_URL = await database(admin, target)
    console.log(`creating ${USERS} Django users`)
    await fillDjango(sourceUrl)
    // The CLI migrates on open: done once before the timed import, as an operator's `migrate` would.
    execFileSync(process.execPath, [join(root, 'dist', 'src', 'cli.js'), 'migrate'], { env, stdio: 'ignore' })
    const first = importOnce(env, sourceUrl)
    console.log(
      `import: ${first.seconds.toFixed(2)} s, ${Math.round(USERS / first.seconds)} rows/s\n  ${first.summary}`,
    )
    const second = importOnce(env, sourceUrl)
    console.log(`again: ${second.seconds.toFixed(2)} s\n  ${second.summary}`)

    const child = spawn(process.execPath, [join(root, 'dist', 'src', 'server.js')], { env, stdio: 'ignore' })
    const base = `http://127.0.0.1:${port}`
    try {
      for (let i = 0; ; i++) {
        if (i > 300) throw new Error('the server did not become ready')
        const ok = await fetch(`${base}/health/ready`).then(
          (r) => r.ok,
          () => false,
        )
        if (ok) break
        await new Promise((r) => setTimeout(r, 200))
      }
      const ceiling = await nodeRsCeiling(loadConfig(env).argon2)
      let next = 1
      const upgraded: string[] = []
      let again = 0
      const loginOf = (pick: () => string): autocannon.Request[] => [
        {
          method: 'POST',
          path: '/api/token/',
          headers: { 'content-type': 'application/json' },
          setupRequest: (req) => ({ ...req, body: JSON.stringify({ username: pick(), password: PASSWORD }) }),
        },
      ]
      const before = loginOf(() => {
        const name = `user${next++}`
        upgraded.push(name)
        return name
      })
      const after = loginOf(() => upgraded[again++ % upgraded.length]!)
      const seconds = Number(args.seconds)
      const sample = (requests: autocannon.Request[]) =>
        loadSample({
          url: base,
          connections: Number(args.connections),
          seconds,
          requests,
          pids: () => [child.pid!],
        })
      const settle = () => new Promise((r) => setTimeout(r, 300))
      const ceilings: number[] = []
      const pbkdf2 = []
      const argon2 = []
      for (let i = 0; i < Number(args.slices); i++) {
        await settle()
        ceilings.push(await ceiling(seconds))
        pbkdf2.push(await sample(before))
        await settle()
        ceilings.push(await ceiling(seconds))
        argon2.push(await sample(after))
      }
      await settle()
      ceilings.push(await ceiling(seconds))
      const ceilingRps = ceilings.reduce((a, b) => a + b, 0) / ceilings.length
      const [p, a] = [summarizeLoad(pbkdf2), summarizeLoad(argon2)]
      const md = [
        '# Moving from SimpleJWT: import and legacy-hash login',
        '',
        `${new Date().toISOString()}, ${os.cpus().length} × ${os.cpus()[0]?.model}, node ${process.version}, PostgreSQL + Redis.`,
        '',
        '| measure | figure |',
        '|---|---|',
        `| import of ${USERS.toLocaleString('en')} users (\`import-django --from\`, whole command) | ${first.seconds.toFixed(2)} s, **${Math.round(USERS / first.seconds).toLocaleString('en')} rows/s** |`,
        `| of which the import itself (its summary line: reading both databases, planning, writing) | ${/\(([^)]*rows\/s)\)/.exec(first.summary)?.[1] ?? '?'} |`,
        `| the same import again (all unchanged), whole command | ${second.seconds.toFixed(2)} s |`,
        `| argon2id ceiling (verifications/s, mean of ${ceilings.length} slices) | ${ceilingRps.toFixed(1)} |`,
        `| login of a pbkdf2_sha256 (260,000) user, first login (verify + upgrade) | ${p.rps.toFixed(1)}/s, **${(p.rps / ceilingRps).toFixed(2)}x** the ceiling, p50 ${Math.round(p.p50)} ms |`,
        `| login of the same users after the upgrade (argon2id) | ${a.rps.toFixed(1)}/s, **${(a.rps / ceilingRps).toFixed(2)}x** the ceiling, p50 ${Math.round(a.p50)} ms |`,
        '',
        `Statuses: before ${JSON.stringify(p.statuses)}, after ${JSON.stringify(a.statuses)}; errors ${p.errors + a.errors}.`,
        '',
      ].join('\n')
      console.log(`\n${md}`)
      mkdirSync(join(root, 'bench', 'results'), { recursive: true })
      writeFileSync(join(root, 'bench', 'results', 'django.md'), md)
      if (p.non2xx + a.non2xx + p.errors + a.errors > 0) process.exitCode = 1
    } finally {
      child.kill('SIGTERM')
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)))
    }
  } finally {
    for (const name of [source, target]) await admin.unsafe(`drop database if exists ${name} with (force)`)
    await admin.end()
  }
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
