import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { eq } from 'drizzle-orm'
import t, { type Test } from 'tap'
import { mailOutbox, oneTimeTokens } from '../../schema/db.js'
import type { Config } from '../../src/config.js'
import { type BackendName, eachBackend, makeApp, type TestApp } from '../helpers/backends.js'
import { type Inbox, linkToken, startInbox } from '../helpers/smtp.js'
import { fileTransport, type WrittenMail } from '../../src/mail/transport.js'
import { startServer } from '../helpers/server-process.js'

t.setTimeout(360_000) // it starts a development server from the sources (tsx), which a loaded machine takes long to compile

const PUBLIC_URL = 'https://auth.example.com'

async function mailApp(t: Test, backend: BackendName, inbox: Inbox, overrides: Partial<Config> = {}) {
  return makeApp(t, backend, {
    mailEnabled: true,
    smtpUrl: inbox.url,
    publicUrl: PUBLIC_URL,
    mailRetrySeconds: 1,
    ...overrides,
  })
}

async function staff(app: TestApp) {
  const admin = await app.createUser({ isStaff: true, isSuperuser: true })
  return app.bearer((await app.login(admin.username, admin.password)).access)
}

const reset = (app: TestApp, email: string, headers: Record<string, string> = {}) =>
  app.request({ method: 'POST', url: '/api/v1/auth/password/reset/', payload: { email }, headers })
const confirm = (app: TestApp, token: string, new_password: string) =>
  app.request({
    method: 'POST',
    url: '/api/v1/auth/password/reset/confirm/',
    payload: { token, new_password },
  })

t.test(
  'password reset: request -> mail -> confirm -> old sessions refused -> new password logs in',
  async (t) => {
    await eachBackend(t, async (t, backend) => {
      const inbox = await startInbox(t)
      const app = await mailApp(t, backend, inbox)
      const email = `reset-${backend}@example.com`
      const user = await app.createUser({ email })
      const before = await app.login(user.username, user.password)

      const asked = await reset(app, email.toUpperCase(), { host: 'evil.example' })
      const nobody = await reset(app, `nobody-${backend}@example.com`)
      t.equal(asked.statusCode, 202)
      t.same(nobody.statusCode, 202, 'an unknown address gets the same answer')
      t.same(asked.json(), nobody.json(), 'word for word')

      const mail = await inbox.next(email)
      t.equal(mail.subject, 'Reset your password')
      const { link, token } = linkToken(mail)
      t.ok(
        link.startsWith(`${PUBLIC_URL}/password/reset/?token=`),
        `the link starts with PUBLIC_URL, never the Host header: ${link}`,
      )
      t.match(
        String(mail.html),
        `href="${link.replaceAll('&', '&amp;')}"`,
        'the HTML part carries the same link',
      )
      t.ok(mail.messageId, 'the mail has a Message-ID')

      const weak = await confirm(app, token, 'short')
      t.equal(weak.statusCode, 400, 'the strength rules of a password change apply')
      t.ok(weak.json().new_password, 'under new_password')
      const done = await confirm(app, token, 'a brand new password')
      t.equal(done.statusCode, 200)
      t.equal(done.json().revoked_sessions, 1, 'every session of the user is revoked')

      const me = await app.request({
        method: 'GET',
        url: '/api/v1/auth/users/me/',
        headers: app.bearer(before.access),
      })
      t.equal(me.statusCode, 401, 'the old access token is refused at once')
      const renewed = await app.request({
        method: 'POST',
        url: '/api/token/refresh/',
        payload: { refresh: before.refresh },
      })
      t.equal(renewed.statusCode, 401, 'and the old refresh token')
      const old = await app.request({
        method: 'POST',
        url: '/api/token/',
        payload: { username: user.username, password: user.password },
      })
      t.equal(old.statusCode, 401, 'the old password no longer logs in')
      await app.login(user.username, 'a brand new password')

      const again = await confirm(app, token, 'another new password')
      t.equal(again.statusCode, 400, 'a used link is refused')
      t.same(again.json(), { token: ['This link was already used. Ask for a new one.'] })
      t.same((await confirm(app, 'x'.repeat(43), 'another new password')).json(), {
        token: ['This link is not valid. Ask for a new one.'],
      })

      t.equal((await reset(app, email)).statusCode, 202)
      const second = linkToken(await inbox.next(email)).token
      await app.database.db.update(oneTimeTokens).set({ expiresAt: new Date(Date.now() - 1000) })
      t.same((await confirm(app, second, 'another new password')).json(), {
        token: ['This link has expired. Ask for a new one.'],
      })

      const [sent] = await app.database.db
        .select()
        .from(mailOutbox)
        .where(eq(mailOutbox.recipient, email))
        .limit(1)
      t.equal(sent?.status, 'sent')
      t.equal(sent?.data, null, 'a sent mail keeps no link: the outbox row forgets the token')
      const stored = await app.database.db.select().from(oneTimeTokens)
      t.notOk(JSON.stringify(stored).includes(token), 'the database holds only a hash of the token')
    })
  },
)

t.test('password reset is rate-limited per address and per client address', async (t) => {
  const inbox = await startInbox(t)
  const app = await mailApp(t, 'embedded', inbox, { mailRateLimit: 2, mailIpRateLimit: 3 })
  const codes = []
  for (let i = 0; i < 3; i++) codes.push((await reset(app, 'someone@example.com')).statusCode)
  t.same(codes, [202, 202, 429], 'per address')
  const other = await reset(app, 'someone-else@example.com')
  t.equal(other.statusCode, 429, 'per client address: the fourth request from one address')
  t.ok(other.headers['retry-after'], 'with Retry-After')
})

t.test('SMTP down during the request, then up: the mail arrives, once', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const inbox = await startInbox(t)
    const app = await mailApp(t, backend, inbox)
    const email = `outage-${backend}@example.com`
    await app.createUser({ email })
    await inbox.stop()
    t.equal((await reset(app, email)).statusCode, 202, 'the request does not wait for SMTP')
    const outbox = app.app.repos.outbox
    for (let i = 0; i < 100 && !(await failedOnce(app, email)); i++) await sleep(100)
    t.ok(await failedOnce(app, email), 'the first attempt failed and was recorded')
    await inbox.start()
    const mail = await inbox.next(email, 20_000)
    t.equal(mail.subject, 'Reset your password')
    await sleep(3000)
    t.equal(inbox.messages.filter((m) => JSON.stringify(m.to).includes(email)).length, 1, 'exactly one copy')
    t.same(await outbox.counts(), { sent: 1 })
  })
})

async function failedOnce(app: TestApp, email: string): Promise<boolean> {
  const [row] = await app.database.db.select().from(mailOutbox).where(eq(mailOutbox.recipient, email))
  return Boolean(row?.lastError && row.status === 'pending')
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

t.test(
  'e-mail verification: a link on creation and on change; REQUIRE_VERIFIED_EMAIL holds logins',
  async (t) => {
    await eachBackend(t, async (t, backend) => {
      const inbox = await startInbox(t)
      const app = await mailApp(t, backend, inbox, { requireVerifiedEmail: true })
      const headers = await staff(app)
      const email = `new-${backend}@example.com`
      const created = await app.request({
        method: 'POST',
        url: '/api/v1/auth/users/',
        headers,
        payload: { username: `new_${backend}`, email, password: 'new user password' },
      })
      t.equal(created.statusCode, 201)
      const login = () =>
        app.request({
          method: 'POST',
          url: '/api/token/',
          payload: { username: `new_${backend}`, password: 'new user password' },
        })
      const refused = await login()
      t.equal(refused.statusCode, 401, 'unverified: no tokens')
      t.equal(refused.json().code, 'email_not_verified')

      const mail = await inbox.next(email)
      t.equal(mail.subject, 'Confirm your e-mail address')
      const { link, token } = linkToken(mail)
      t.ok(link.startsWith(`${PUBLIC_URL}/email/verify/?token=`))
      const verified = await app.request({
        method: 'POST',
        url: '/api/v1/auth/email/verify/',
        payload: { token },
      })
      t.equal(verified.statusCode, 200)
      t.same(verified.json(), { detail: 'Your e-mail address is verified.', email })
      t.equal((await login()).statusCode, 200, 'verified: logs in')
      const reused = await app.request({
        method: 'POST',
        url: '/api/v1/auth/email/verify/',
        payload: { token },
      })
      t.equal(reused.statusCode, 400, 'the link works once')

      const id = created.json().id
      const changed = await app.request({
        method: 'PATCH',
        url: `/api/v1/auth/users/${id}/`,
        headers,
        payload: { email: `changed-${backend}@example.com` },
      })
      t.equal(changed.statusCode, 200)
      t.equal((await login()).json().code, 'email_not_verified', 'a new address must be proven again')
      const changeMail = await inbox.next(`changed-${backend}@example.com`)
      const resentToken = linkToken(changeMail).token
      t.equal(
        (
          await app.request({
            method: 'POST',
            url: '/api/v1/auth/email/verify/',
            payload: { token: resentToken },
          })
        ).statusCode,
        200,
      )
      t.equal((await login()).statusCode, 200)
    })
  },
)

t.test(
  'resend: a new link for the caller; a SimpleJWT client without any of this is unaffected',
  async (t) => {
    const inbox = await startInbox(t)
    const app = await mailApp(t, 'embedded', inbox)
    const user = await app.createUser({ email: 'resend@example.com', emailVerified: false })
    const { access } = await app.login(user.username, user.password)
    const resend = () =>
      app.request({ method: 'POST', url: '/api/v1/auth/email/verify/resend/', headers: app.bearer(access) })
    const first = await resend()
    t.equal(first.statusCode, 202)
    t.same(first.json(), { detail: 'A verification link is on its way.' })
    const { token } = linkToken(await inbox.next('resend@example.com'))
    t.equal(
      (await app.request({ method: 'POST', url: '/api/v1/auth/email/verify/', payload: { token } }))
        .statusCode,
      200,
    )
    t.same((await resend()).json(), { detail: 'Your e-mail address is already verified.' })
    const pair = await app.request({
      method: 'POST',
      url: '/api/token/',
      payload: { username: user.username, password: user.password },
    })
    t.same(Object.keys(pair.json()).slice(0, 2), ['refresh', 'access'], 'login answers as SimpleJWT does')
  },
)

t.test('mail off (production without SMTP_URL): the routes do not exist', async (t) => {
  const app = await makeApp(t, 'embedded')
  for (const url of ['/api/v1/auth/password/reset/', '/api/v1/auth/email/verify/']) {
    const res = await app.request({ method: 'POST', url, payload: { email: 'a@example.com', token: 'x' } })
    t.equal(res.statusCode, 404, url)
  }
})

t.test('the pages the links open: a GET spends nothing, the form sets the password', async (t) => {
  const inbox = await startInbox(t)
  const app = await mailApp(t, 'embedded', inbox)
  const user = await app.createUser({ email: 'pages@example.com' })
  await reset(app, 'pages@example.com')
  const { link, token } = linkToken(await inbox.next('pages@example.com'))
  const path = link.slice(PUBLIC_URL.length)
  for (let i = 0; i < 2; i++) {
    const shown = await app.request({ method: 'GET', url: path })
    t.equal(shown.statusCode, 200, 'a scanner or a second click may open it')
    t.match(shown.headers['content-type'], /^text\/html/)
    t.match(shown.headers['referrer-policy'], 'no-referrer', 'the token stays out of Referer headers')
    t.match(shown.body, `name="token" value="${token}"`)
  }
  const hostile = await app.request({
    method: 'GET',
    url: '/password/reset/?token=%22%3E%3Cscript%3Ex%3C/script%3E',
  })
  t.notMatch(hostile.body, '<script>', 'the token is escaped')
  const form = (body: Record<string, string>) =>
    app.request({
      method: 'POST',
      url: '/password/reset/',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(body).toString(),
    })
  t.equal((await form({ token, new_password: 'short' })).statusCode, 400)
  const done = await form({ token, new_password: 'set from the page' })
  t.equal(done.statusCode, 200)
  t.match(done.body, 'Your password has been reset')
  await app.login(user.username, 'set from the page')
  const again = await form({ token, new_password: 'set from the page 2' })
  t.equal(again.statusCode, 400)
  t.match(again.body, 'This link was already used.')
})

t.test('a mail written to a file is quoted-printable; its link is handed over as plain text', async (t) => {
  const dir = t.testdir()
  const written: WrittenMail[] = []
  const link = `${PUBLIC_URL}/password/reset/?token=Xq3v9LmR2tY7bK0pWz5nC8dF1gH4jS6aE-uQiOoPrT0`
  await fileTransport(dir, (mail) => written.push(mail)).send({
    from: 'authjwt <no-reply@localhost>',
    to: 'files@example.com',
    subject: 'Reset your password',
    text: `Hello alice,\n\nTo choose a new password, open this link within 30 minutes:\n${link}\n`,
    html: `<p><a href="${link}">Choose a new password</a></p>`,
    messageId: '<qp-test@localhost>',
  })
  const files = await readdir(dir)
  t.equal(files.length, 1)
  const raw = await readFile(join(dir, files[0] ?? ''), 'utf8')
  t.notOk(raw.includes(link), 'the file does not hold the link as typed (quoted-printable: "=" is "=3D")')
  t.match(raw, 'token=3D')
  t.same(written, [{ to: 'files@example.com', file: join(dir, files[0] ?? ''), links: [link] }])
})

t.test(
  'in development the log prints the reset link, and that link, pasted, resets the password',
  async (t) => {
    const dir = t.testdir()
    const server = await startServer(t, {
      NODE_ENV: 'development',
      DATA_DIR: dir,
      ADMIN_USERNAME: 'dana',
      ADMIN_PASSWORD: 'dana-old-password',
      ADMIN_EMAIL: 'dana@example.com',
      MAIL_RETRY_SECONDS: '1',
    })
    const asked = await fetch(`${server.base}/api/v1/auth/password/reset/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'dana@example.com' }),
    })
    t.equal(asked.status, 202)
    const line = /mail to dana@example\.com written to (\S+\.eml); link: (http\S+\?token=[\w-]+)/
    await server.waitFor(line)
    const [, file, link] = line.exec(server.output())!
    t.match(file, join(dir, 'outbox'), 'the log names the file')
    const token = new URL(link!).searchParams.get('token') ?? ''
    t.notOk((await readFile(file!, 'utf8')).includes(`token=${token}`), 'the file holds it quoted-printable')
    const confirmed = await fetch(`${server.base}/api/v1/auth/password/reset/confirm/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, new_password: 'dana-new-password' }),
    })
    t.equal(confirmed.status, 200, `the token from the log works as pasted: ${await confirmed.text()}`)
  },
)

t.test('no SMTP_URL outside production: each mail is an .eml file in DATA_DIR/outbox', async (t) => {
  const dataDir = t.testdir()
  const app = await makeApp(t, 'embedded', {
    mailEnabled: true,
    dataDir,
    publicUrl: PUBLIC_URL,
    mailRetrySeconds: 1,
  })
  await app.createUser({ email: 'files@example.com' })
  t.equal((await reset(app, 'files@example.com')).statusCode, 202)
  const outbox = join(dataDir, 'outbox')
  let files: string[] = []
  for (let i = 0; i < 100 && files.length === 0; i++) {
    await sleep(100)
    files = await readdir(outbox).catch(() => [])
  }
  t.equal(files.length, 1, 'one file')
  const raw = await readFile(join(outbox, files[0] ?? ''), 'utf8')
  t.match(raw, /^To: files@example\.com$/m)
  t.match(raw, /Subject: Reset your password/)
  t.equal(
    (await stat(join(outbox, files[0] ?? ''))).mode & 0o777,
    0o600,
    'readable by the owner only: it holds a link',
  )
})
