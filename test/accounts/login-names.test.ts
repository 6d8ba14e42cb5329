import { sql } from 'drizzle-orm'
import t from 'tap'
import { eachBackend, makeApp, type TestApp } from '../helpers/backends.js'
import { planImport } from '../../src/django/import-plan.js'
import { startInbox } from '../helpers/smtp.js'

const V1 = '/api/v1/auth'

const create = (app: TestApp, access: string, body: object) =>
  app.request({ method: 'POST', url: `${V1}/users/`, headers: app.bearer(access), payload: body })

const login = (app: TestApp, username: string, password: string) =>
  app.request({ method: 'POST', url: `${V1}/token/`, payload: { username, password } })

// Issue 25 item 4: a login identifier names one account, across tenants and superusers.
t.test('a username can never be another account’s e-mail, nor the reverse', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const inbox = await startInbox(t)
    const app = await makeApp(t, backend, {
      mailEnabled: true,
      smtpUrl: inbox.url,
      publicUrl: 'https://auth.example.com',
    })
    const staffA = await app.createUser({ isStaff: true, clientName: 'Tenant A' })
    const victim = await app.createUser({ clientName: 'Tenant B', email: `victim-${backend}@b.example` })
    const root = await app.createUser({
      isStaff: true,
      isSuperuser: true,
      email: `root-${backend}@x.example`,
    })
    const a = (await app.login(staffA.username, staffA.password)).access
    const su = (await app.login(root.username, root.password)).access

    await t.test('staff of tenant A cannot squat tenant B’s or a superuser’s address', async (t) => {
      for (const address of [`victim-${backend}@b.example`, `ROOT-${backend}@x.example`]) {
        const squat = await create(app, a, {
          username: address,
          email: `squatter-${backend}@a.example`,
          password: 'squatter password',
        })
        t.equal(squat.statusCode, 400)
        t.same(squat.json(), { username: ["A username with @ must be the account's own e-mail address."] })
        const both = await create(app, a, {
          username: address,
          email: address,
          password: 'squatter password',
        })
        t.equal(both.statusCode, 400)
        t.same(both.json(), {
          username: ["This username is another account's e-mail address."],
          email: ['A user with that email already exists.'],
        })
      }
      const ok = await create(app, a, {
        username: `self-${backend}@a.example`,
        email: `Self-${backend}@a.example`,
        password: 'long enough pw',
      })
      t.equal(ok.statusCode, 201, 'a username that is the account’s own address is fine')
      t.equal((await login(app, `victim-${backend}@b.example`, victim.password)).statusCode, 200)
    })

    await t.test('the other order: an address that is another account’s username', async (t) => {
      // Its username is its first address; the address changed since, the username did not.
      const first = `moved-${backend}@a.example`
      const moved = await create(app, su, { username: first, email: first, password: 'long enough pw' })
      t.equal(moved.statusCode, 201)
      const patch = await app.request({
        method: 'PATCH',
        url: `${V1}/users/${moved.json().id}/`,
        headers: app.bearer(su),
        payload: { email: `now-${backend}@a.example` },
      })
      t.equal(patch.statusCode, 200)
      const taker = await create(app, su, {
        username: 'taker',
        email: first.toUpperCase(),
        password: 'pw long enough',
      })
      t.equal(taker.statusCode, 400)
      t.same(taker.json(), { email: ["This e-mail address is another account's username."] })
      const other = await app.request({
        method: 'PATCH',
        url: `${V1}/users/${victim.id}/`,
        headers: app.bearer(su),
        payload: { email: first },
      })
      t.equal(other.statusCode, 400)
      t.same(other.json(), { email: ["This e-mail address is another account's username."] })
    })

    await t.test(
      'under concurrency, in the database: of the username and the e-mail, one wins',
      async (t) => {
        const hash = await app.app.hasher.hash('x')
        for (let round = 0; round < 5; round++) {
          const address = `burst${round}-${backend}@c.example`
          // Straight at the repository, as a request whose checks ran before the other committed.
          const attempts = await Promise.allSettled([
            ...[0, 1, 2].map((i) =>
              app.app.repos.users.create({
                username: address,
                email: i === 0 ? address : `sq${round}${i}-${backend}@c.example`,
                passwordHash: hash,
              }),
            ),
            ...[0, 1, 2].map((i) =>
              app.app.repos.users.create({
                username: `owner${round}${i}-${backend}`,
                email: address,
                passwordHash: hash,
              }),
            ),
          ])
          const won = attempts.filter((r) => r.status === 'fulfilled')
          t.equal(won.length, 1, `round ${round}: one account holds ${address}`)
          for (const r of attempts) {
            if (r.status === 'rejected')
              t.equal((r.reason as Error).name, 'DuplicateError', 'a clear refusal')
          }
        }
      },
    )

    await t.test('an address is looked up as an e-mail first: login and reset', async (t) => {
      // A squatting row from before the rule (the triggers are off while it is written).
      const address = `old-${backend}@b.example`
      const owner = await app.createUser({ email: address, clientName: 'Tenant B' })
      await app.database.db.execute(sql`alter table users disable trigger user`)
      const squatter = await app.createUser({
        username: address,
        email: `sq-${backend}@a.example`,
      })
      await app.database.db.execute(sql`alter table users enable trigger user`)
      const own = await login(app, address, owner.password)
      t.equal(own.statusCode, 200, 'the owner logs in with the address')
      t.equal(own.json().user_id, owner.id)
      t.equal((await login(app, address, squatter.password)).statusCode, 401, 'the squatter does not')
      const reset = await app.request({
        method: 'POST',
        url: `${V1}/password/reset/`,
        payload: { email: address },
      })
      t.equal(reset.statusCode, 202)
      const mail = await inbox.next(address)
      t.equal(mail.subject, 'Reset your password', 'the owner gets the reset mail')
    })
  })
})

t.test('import-django skips a row whose username is another account’s e-mail, or the reverse', async (t) => {
  const user = (id: number, username: string, email: string) => ({
    id,
    password: '!unusable',
    last_login: null,
    is_superuser: false,
    username,
    first_name: '',
    last_name: '',
    email,
    is_staff: false,
    is_active: true,
    date_joined: '2024-01-01T00:00:00Z',
  })
  const plan = planImport(
    [
      user(1, 'alice', 'alice@x.example'),
      user(2, 'ALICE@x.example', 'eve@x.example'),
      user(3, 'jo@x.example', 'jo@y.example'),
      user(4, 'bob', 'JO@x.example'),
    ],
    [],
  )
  t.same(
    plan.create.map((u) => u.id),
    [1, 4],
  )
  t.same(
    plan.skipped.map((s) => [s.id, s.reason]),
    [
      ['2', 'username is the e-mail of user id 1'],
      ['3', 'username is the e-mail of user id 4'],
    ],
  )
})
