import { execFile } from 'node:child_process'
import { pbkdf2Sync } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { importDjango } from '../../src/django/import-users.js'
import { readDumpdata } from '../../src/django/import-source.js'
import { eachBackend, makeApp } from '../helpers/backends.js'
import { childEnv, root, tsx } from '../helpers/server-process.js'

t.setTimeout(300_000)

const b64 = (bytes: number) => Buffer.alloc(bytes, 7).toString('base64')
const bare = (bytes: number) => b64(bytes).replace(/=+$/, '')
const salt = 'R0qeiSsuJWeHfHwFRDBghu'
const pbkdf2 = (password: string) =>
  `pbkdf2_sha256$1000$${salt}$${pbkdf2Sync(password, salt, 1000, 32, 'sha256').toString('base64')}`

const row = (pk: unknown, username: unknown, extra: Record<string, unknown> = {}) => ({
  model: 'auth.user',
  pk,
  fields: {
    password: pbkdf2(`${String(username)}-pass`),
    last_login: null,
    is_superuser: false,
    username,
    first_name: '',
    last_name: '',
    email: `user${String(pk)}@example.com`,
    is_staff: false,
    is_active: true,
    date_joined: '2023-05-17T09:30:00Z',
    ...extra,
  },
})

// Each hostile row, and what its skip line must say.
const HOSTILE: [object, RegExp][] = [
  [row(2, 'widekey', { password: `pbkdf2_sha256$100000$salt$${b64(32 * 1024)}` }), /password hash is longer/],
  [
    row(3, 'scryptp', { password: `scrypt$2$salt$1$1000000$${b64(64)}` }),
    /password hash has N·r·p = 2000000/,
  ],
  [row(4, 'bcrypt31', { password: `bcrypt$$2b$31$${'a'.repeat(53)}` }), /password hash has cost 31/],
  [
    row(5, 'argon1g', { password: `argon2$argon2id$v=19$m=1048576,t=2,p=1$${bare(16)}$${bare(16)}` }),
    /password hash has m=1048576/,
  ],
  [row(6, 'pbkdf2many', { password: `pbkdf2_sha256$50000000$salt$${b64(32)}` }), /has 50000000 iterations/],
  [
    row(7, 'twoaddresses', { email: 'victim@example.com, attacker@example.net' }),
    /email: Enter a valid email address/,
  ],
  [row(8, 'has space'), /username: Enter a valid username/],
  [row(9, 'slash/name'), /username: Enter a valid username/],
  [row(10, 'x'.repeat(151)), /username: Ensure this field has no more than 150 characters/],
  [row(11, 'clear\u001b[2J\u001b]0;owned\u0007screen'), /username: Enter a valid username/],
  [row(12, 'nul\u0000name'), /username: Null characters are not allowed/],
  [row(13, 'nulfirst', { first_name: 'a\u0000b' }), /first_name: Null characters are not allowed/],
  [row('14\u001b[31m', 'badid'), /id must be a whole number/],
]

async function writeDump(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'authjwt-rules-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const file = join(dir, 'users.json')
  await writeFile(file, JSON.stringify([row(1, 'alice'), ...HOSTILE.map(([r]) => r), row(20, 'bob')]))
  return file
}

// ESC, NUL, BEL, the C1 controls, every control character but the line break: none may reach the
// operator's terminal.
const CONTROL = /[^\P{Cc}\n]/u

t.test(
  'import-django --from-json skips rows the API would refuse and hashes beyond the bounds',
  async (t) => {
    const dump = await writeDump()
    await eachBackend(t, async (t, backend) => {
      const app = await makeApp(t, backend)
      const lines: string[] = []
      const { repos, revocations } = app.app
      const report = await importDjango(
        { imports: repos.imports, repos, revocations, print: (l) => lines.push(l) },
        () => readDumpdata(dump),
        { dryRun: false },
      )
      t.match(report, { created: 2, skipped: HOSTILE.length })
      HOSTILE.forEach(([, reason], i) => {
        const line = lines.find((l) => l.startsWith(`skipped row ${i + 2} `))
        t.match(line, reason, `row ${i + 2} is skipped with its reason`)
      })
      for (const line of lines)
        t.notMatch(line, CONTROL, `no control character printed: ${JSON.stringify(line)}`)
      t.ok(
        lines.some((l) => l.includes('username "clear\\u{1b}[2J\\u{1b}]0;owned\\u{7}screen"')),
        'the escape sequences are shown escaped',
      )

      const stored = await repos.imports.existing()
      t.same(stored.map((u) => u.username).sort(), ['alice', 'bob'], 'only the two good rows are stored')
      t.notOk(
        stored.some((u) => u.email.includes('attacker')),
        'no address with a second recipient in it',
      )
      const ok = await app.request({
        method: 'POST',
        url: '/api/v1/auth/token/',
        payload: { username: 'alice', password: 'alice-pass' },
      })
      t.equal(ok.statusCode, 200, 'a good row logs in with its Django password')
    })
  },
)

t.test('the command prints no control characters to the terminal', async (t) => {
  const dump = await writeDump()
  const dir = await mkdtemp(join(tmpdir(), 'authjwt-rules-cli-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const run = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      tsx,
      ['src/cli.ts', 'import-django', '--from-json', dump],
      { cwd: root, timeout: 120_000, env: childEnv({ DATA_DIR: join(dir, 'data') }) },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    )
  })
  t.equal(run.code, 0, run.stderr)
  t.match(run.stdout, `2 were created, 0 updated, 0 unchanged, ${HOSTILE.length} skipped`)
  t.notMatch(run.stdout, CONTROL, 'no ESC, NUL or BEL on stdout')
  t.notMatch(run.stderr, CONTROL, 'nor on stderr')
  t.match(run.stdout, /skipped row 14 \(id 14\\u\{1b\}\[31m, username "badid"\)/, 'an id is escaped too')
  t.match(run.stdout, /username "nul\\u\{0\}name"/, 'NUL is shown as an escape')
})
