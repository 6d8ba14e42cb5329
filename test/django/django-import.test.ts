import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import t, { type Test } from 'tap'
import { importDjango } from '../../src/django/import-users.js'
import { readDjangoDatabase } from '../../src/django/import-source.js'
import { backendNames, eachBackend, makeApp, type TestApp } from '../helpers/backends.js'
import { djangoDatabase, FIXTURE, importInto } from '../helpers/django.js'
import { childEnv, root, tsx } from '../helpers/server-process.js'
import { decodeJwt } from '../helpers/tokens.js'

t.setTimeout(300_000)

interface SourceUser {
  id: number
  username: string
  email: string
  password: string
  is_active: boolean
}

/** The fixture's users as Django holds them: what each login is expected to do comes from here. */
async function sourceUsers(url: string): Promise<SourceUser[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  try {
    return (await sql`select id, username, email, password, is_active from auth_user order by id`) as never
  } finally {
    await sql.end({ timeout: 2 })
  }
}

async function storedUsers(app: TestApp) {
  const rows = await app.app.repos.imports.existing()
  return rows.sort((a, b) => a.id - b.id)
}

const loginAs = (app: TestApp, username: string, password: string) =>
  app.request({ method: 'POST', url: '/api/v1/auth/token/', payload: { username, password } })

/** The fixture lives in PostgreSQL: the real server is needed, whichever backend the app runs on. */
async function fixtureSource(t: Test): Promise<string | undefined> {
  if (!(await backendNames(t)).includes('real')) return undefined
  return djangoDatabase(t, FIXTURE)
}

t.test('the Django fixture imports, and every user logs in with their Django password', async (t) => {
  const source = await fixtureSource(t)
  if (!source) return
  const django = await sourceUsers(source)
  t.equal(django.length, 18, 'the fixture holds 18 users')
  await eachBackend(t, async (t, backend) => {
    // argon2id at its production cost: a failure is padded to at most 32 of our own checks, so
    // the timing below holds against a real argon2id, not against the suite's cheap one.
    const app = await makeApp(t, backend, { argon2: { memoryKiB: 19456, timeCost: 2, parallelism: 1 } })
    const lines: string[] = []
    const first = await importInto(app, source, lines)
    t.match(first, { created: 18, updated: 0, unchanged: 0, skipped: 0 })
    t.ok(
      lines.some((l) => /"DupCase" and "dupcase" differ only in case/.test(l)),
      'names differing only in case are reported',
    )
    t.ok(
      lines.some((l) => /e-mail "dupcase@example.com" is shared by user ids 17, 18/.test(l)),
      'the shared e-mail is reported',
    )

    const wrong = await loginAs(app, 'md5user', 'not-the-password')
    t.equal(wrong.statusCode, 401, 'a wrong password fails')
    const refusal = wrong.json()
    t.same(refusal, { detail: 'No active account found with the given credentials' })

    // A failure takes as long as the slowest check lately, so its timing tells neither the hash
    // format nor whether the account exists. (Margins are wide: pbkdf2 at 260,000 iterations costs
    // about eight argon2id checks at OWASP's settings, the cap is 32.)
    const timed = async (username: string) => {
      const started = performance.now()
      const res = await loginAs(app, username, 'not-the-password')
      t.equal(res.statusCode, 401)
      return performance.now() - started
    }
    const slow = await timed('pbkdf2user')
    for (const name of ['nobody-by-this-name', 'md5user', 'unsaltedmd5', 'nopassword']) {
      const took = await timed(name)
      t.ok(
        took > slow * 0.5,
        `${name}: a failure takes as long as pbkdf2's (${took.toFixed(0)} vs ${slow.toFixed(0)} ms)`,
      )
    }

    for (const user of django) {
      const res = await loginAs(app, user.username, `${user.username}-pass-123`)
      const usable = user.is_active && !user.password.startsWith('!')
      if (usable) {
        t.equal(res.statusCode, 200, `${user.username} (${user.password.split('$')[0]}) logs in`)
        t.equal(decodeJwt(res.json().access).payload.user_id, user.id, `${user.username} keeps Django's id`)
      } else {
        t.equal(res.statusCode, 401, `${user.username} does not log in`)
        t.same(res.json(), refusal, `${user.username} gets the wrong-password answer`)
      }
    }
    const after = new Map((await storedUsers(app)).map((u) => [u.id, u.passwordHash]))
    for (const user of django) {
      const usable = user.is_active && !user.password.startsWith('!')
      if (usable) t.match(after.get(user.id), /^\$argon2id\$/, `${user.username}'s hash is argon2id now`)
      else t.equal(after.get(user.id), user.password, `${user.username}'s hash is left as Django wrote it`)
    }
    t.equal(
      (await loginAs(app, 'md5user', 'md5user-pass-124')).statusCode,
      401,
      'a wrong password still fails',
    )

    // E-mails log in case-insensitively, except the one two accounts share.
    t.equal((await loginAs(app, 'PBKDF2@example.com', 'pbkdf2user-pass-123')).statusCode, 200)
    const shared = await loginAs(app, 'dupcase@example.com', 'DupCase-pass-123')
    t.equal(shared.statusCode, 401, 'an e-mail two accounts share logs into neither')
    t.same(shared.json(), refusal)

    const before = await storedUsers(app)
    const second = await importInto(app, source)
    t.match(second, { created: 0, updated: 0, unchanged: 18, skipped: 0 }, 'a second import changes nothing')
    t.same(await storedUsers(app), before, 'every stored user is as it was')

    const next = await app.createUser()
    t.ok(next.id > 18, `a new user gets an id past Django's (${next.id})`)
  })
})

t.test('import into a database that holds users; dry run; legacy hashes refused', async (t) => {
  const source = await fixtureSource(t)
  if (!source) return
  await eachBackend(t, async (t, backend) => {
    const app = await makeApp(t, backend, { legacyPasswordHashes: 'refuse' })
    const someone = await app.createUser({ username: 'someone-else' })
    t.equal(someone.id, 1, 'id 1 is taken here by another user')

    const lines: string[] = []
    const dry = await importDjango(
      {
        imports: app.app.repos.imports,
        repos: app.app.repos,
        revocations: app.app.revocations,
        print: (l) => lines.push(l),
      },
      () => readDjangoDatabase(source),
      { dryRun: true },
    )
    t.match(dry, { created: 17, skipped: 1 })
    t.equal((await storedUsers(app)).length, 1, 'a dry run writes nothing')
    t.match(lines.at(-1), /^Dry run, nothing written: 18 Django users read; 17 would be created/)

    const report = await importInto(app, source, lines)
    t.match(report, { created: 17, skipped: 1 })
    t.ok(
      lines.some((l) =>
        /skipped row 1 \(id 1, username "pbkdf2user"\): id 1 belongs to another user here/.test(l),
      ),
      'the row whose id is taken is reported with its reason',
    )
    t.equal((await storedUsers(app)).find((u) => u.id === 1)?.username, 'someone-else', 'never merged')
    t.equal(
      (await loginAs(app, 'pbkdf2user', 'pbkdf2user-pass-123')).statusCode,
      401,
      'the skipped user is not here',
    )

    t.equal((await loginAs(app, 'md5user', 'md5user-pass-123')).statusCode, 401, 'legacy md5 is refused')
    t.equal((await loginAs(app, 'unsaltedmd5', 'unsaltedmd5-pass-123')).statusCode, 401, 'unsalted md5 too')
    const old = await loginAs(app, 'pbkdf2old', 'pbkdf2old-pass-123')
    t.equal(old.statusCode, 200, 'pbkdf2 still logs in')

    // Changes made in Django before the cut-over reach us at the next import.
    const sql = postgres(source, { max: 1, onnotice: () => {} })
    await sql`update auth_user set is_active = false, first_name = 'Gone' where username = 'pbkdf2old'`
    await sql.end({ timeout: 2 })
    t.match(await importInto(app, source), { created: 0, updated: 1, skipped: 1 })
    const me = await app.request({
      method: 'GET',
      url: '/api/test-auth/',
      headers: app.bearer(old.json().access),
    })
    t.equal(me.statusCode, 401, 'a user deactivated in Django loses their tokens here at the next import')
    t.equal(me.json().code, 'user_inactive')
    const undo = postgres(source, { max: 1, onnotice: () => {} })
    await undo`update auth_user set is_active = true, first_name = '' where username = 'pbkdf2old'`
    await undo.end({ timeout: 2 })
  })
})

t.test('a custom user model with Django column names imports with --table', async (t) => {
  const source = await fixtureSource(t)
  if (!source) return
  const sql = postgres(source, { max: 1, onnotice: () => {} })
  await sql`create table accounts_user as select * from auth_user where id in (1, 4, 7)`
  await sql.end({ timeout: 2 })
  const app = await makeApp(t, 'embedded')
  t.match(await importInto(app, source, [], 'public.accounts_user'), { created: 3, skipped: 0 })
  t.equal((await loginAs(app, 'scryptuser', 'scryptuser-pass-123')).statusCode, 200)
})

interface Run {
  code: number
  stdout: string
  stderr: string
}

function cli(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      tsx,
      ['src/cli.ts', ...args],
      { cwd: root, timeout: 120_000, env: childEnv(env) },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    )
  })
}

t.test('npm run cli -- import-django --from-json: bad rows are reported, the rest imported', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'authjwt-django-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const user = (pk: unknown, username: unknown, extra: Record<string, unknown> = {}) => ({
    model: 'auth.user',
    pk,
    fields: {
      password: 'md5$salt$' + 'a'.repeat(32),
      last_login: null,
      is_superuser: false,
      username,
      first_name: '',
      last_name: '',
      email: `${String(username)}@example.com`,
      is_staff: false,
      is_active: true,
      date_joined: '2023-05-17T09:30:00Z',
      groups: [],
      user_permissions: [],
      ...extra,
    },
  })
  const dump = join(dir, 'users.json')
  await writeFile(
    dump,
    JSON.stringify([
      user(1, 'first'),
      user('x', 'badid'),
      user(3, ''),
      user(4, 'baddate', { date_joined: 'yesterday' }),
      user(5, 'fifth'),
      { model: 'auth.group', pk: 1, fields: { name: 'staff' } },
    ]),
  )
  const env = { DATA_DIR: join(dir, 'data') }
  const usage = await cli(['import-django'], env)
  t.equal(usage.code, 2, 'no source is a usage error')

  const run = await cli(['import-django', '--from-json', dump], env)
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, /skipped row 2 \(id x, username "badid"\): id must be a whole number/)
  t.match(run.stdout, /skipped row 3 .*username is missing/)
  t.match(run.stdout, /skipped row 4 .*date_joined is not a time/)
  t.match(run.stdout, /1 entries that are not users were left alone/)
  t.match(run.stdout, /5 Django users read; 2 were created, 0 updated, 0 unchanged, 3 skipped/)
  const again = await cli(['import-django', '--from-json', dump], env)
  t.match(
    again.stdout,
    /0 were created, 0 updated, 2 unchanged, 3 skipped/,
    'a second run duplicates nothing',
  )

  const unreachable = await cli(
    ['import-django', '--from', 'postgres://root:s3cret-pw@127.0.0.1:1/django'],
    env,
  )
  t.equal(unreachable.code, 1, 'an unreachable Django database fails the command')
  t.match(unreachable.stderr, /Cannot read the Django users/)
  t.notMatch(unreachable.stdout + unreachable.stderr, /s3cret-pw/, 'the URL password is never printed')
  const badTable = await cli(
    ['import-django', '--from', 'postgres://127.0.0.1:1/x', '--table', 'users; drop'],
    env,
  )
  t.equal(badTable.code, 2, 'a bad table name is a usage error')
  t.match(badTable.stderr, /is not a table name/, 'a table name is checked before any SQL is built')

  const report = await cli(['password-report'], env)
  t.match(report.stdout, /^md5\s+2\s+legacy/m)
})
