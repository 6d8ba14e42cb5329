import { pbkdf2Sync } from 'node:crypto'
import t from 'tap'
import { commands } from '../../src/cli/commands.js'
import { eachBackend, makeApp, type TestApp } from '../helpers/backends.js'

t.setTimeout(300_000)

const b64 = (bytes: number) => Buffer.alloc(bytes, 7).toString('base64')
const bare = (bytes: number) => b64(bytes).replace(/=+$/, '')

// What the issue imported: each would hold a hashing slot for seconds to days, or take 1 GiB.
const HOSTILE = {
  'pbkdf2 with a 32 KiB key': `pbkdf2_sha256$100000$salt$${b64(32 * 1024)}`,
  'scrypt with p = 1,000,000': `scrypt$2$salt$1$1000000$${b64(64)}`,
  'bcrypt at cost 31': `bcrypt$$2b$31$${'a'.repeat(21)}e${'a'.repeat(30)}e`,
  'argon2 with 1 GiB of memory': `argon2$argon2id$v=19$m=1048576,t=2,p=1$${bare(16)}$${bare(16)}`,
}
// The costliest hash the bounds allow (bcrypt at cost 14: about a second of a core, more on a busy machine).
const COSTLIEST = `bcrypt$$2b$14$${'a'.repeat(21)}e${'a'.repeat(30)}e`

const login = (app: TestApp, username: string, password: string) =>
  app.request({ method: 'POST', url: '/api/v1/auth/token/', payload: { username, password } })

async function planted(app: TestApp, hash: string) {
  const user = await app.createUser()
  await app.app.repos.users.setPasswordHash(user.id, hash)
  return user
}

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now()
  const result = await work()
  return [result, performance.now() - started]
}

t.test(
  'hashes beyond the bounds, planted in the table: refused at once with the uniform failure',
  async (t) => {
    await eachBackend(t, async (t, backend) => {
      const app = await makeApp(t, backend)
      const refusal = (await login(app, 'nobody-by-this-name', 'x')).json()

      // A pbkdf2 key twice the digest's length, of the right password: Django never writes one.
      const salt = 'saltsaltsalt'
      const longKey = pbkdf2Sync('right-password', salt, 1000, 64, 'sha256').toString('base64')
      const wide = await planted(app, `pbkdf2_sha256$1000$${salt}$${longKey}`)
      const res = await login(app, wide.username, 'right-password')
      t.equal(res.statusCode, 401, 'a pbkdf2 key of another length is refused, even with its password')
      t.same(res.json(), refusal)

      const users = await Promise.all(Object.values(HOSTILE).map((hash) => planted(app, hash)))
      const [answers, ms] = await timed(() => Promise.all(users.map((u) => login(app, u.username, 'guess'))))
      Object.keys(HOSTILE).forEach((name, i) => {
        t.equal(answers[i]!.statusCode, 401, `${name}: 401`)
        t.same(answers[i]!.json(), refusal, `${name}: the wrong-password answer`)
      })
      t.ok(ms < 10_000, `all four answered within 10 s (${ms.toFixed(0)} ms)`)

      // Stored before the bounds (an older import): the operator learns how many cannot log in.
      const printed: string[] = []
      await commands['password-report']!.run(
        {},
        {
          config: app.config,
          repos: app.app.repos,
          revocations: app.app.revocations,
          hasher: app.app.hasher,
          store: app.store,
          where: 'test',
          inServer: true,
          print: (line) => printed.push(line),
        },
      )
      t.match(printed.join('\n'), /^5 with a hash beyond the bounds: they cannot log in/m)
    })
  },
)

// What Django 3.2 writes by default: pbkdf2_sha256 at 260,000 iterations, several of our checks.
const DJANGO_DEFAULT = `pbkdf2_sha256$260000$R0qeiSsuJWeHfHwFRDBghu$${b64(32)}`

t.test('attackers hammering two accounts do not hold up another login', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const app = await makeApp(t, backend)
    const admin = await app.createUser({ isStaff: true, isSuperuser: true })
    const targets = [await planted(app, DJANGO_DEFAULT), await planted(app, DJANGO_DEFAULT)]

    // 20 wrong passwords at once on each, then the admin's login while they wait their turn.
    const hammering = Promise.all(
      targets.flatMap((u) => Array.from({ length: 20 }, () => timed(() => login(app, u.username, 'guess')))),
    )
    await new Promise((resolve) => setImmediate(resolve))
    const [res, ms] = await timed(() => login(app, admin.username, admin.password))
    t.equal(res.statusCode, 200, 'the admin logs in')

    const answers = await hammering
    t.ok(
      answers.every(([r]) => r.statusCode === 401),
      'every hammering attempt is checked and refused',
    )
    // One check of that hash, timed on this machine under this load: the first refusal.
    const oneCheck = Math.min(...answers.map(([, took]) => took))
    t.ok(
      ms < 3 * oneCheck,
      `the admin waited for one check at most, not for the 40 queued (${ms.toFixed(0)} ms; one check ${oneCheck.toFixed(0)} ms)`,
    )
  })
})

t.test('after a check of the costliest allowed hash, other failures are not padded to it', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const app = await makeApp(t, backend)
    const target = await planted(app, COSTLIEST)
    t.equal((await login(app, 'nobody-by-this-name', 'guess')).statusCode, 401)
    const [slow, slowMs] = await timed(() => login(app, target.username, 'guess'))
    t.equal(slow.statusCode, 401)
    const [unknown, unknownMs] = await timed(() => login(app, 'nobody-by-this-name', 'guess'))
    t.equal(unknown.statusCode, 401)
    t.ok(
      unknownMs < slowMs / 2,
      `an unknown user's failure is not padded to the slow check (${unknownMs.toFixed(0)} vs ${slowMs.toFixed(0)} ms)`,
    )
  })
})
