import t, { type Test } from 'tap'
import { commands } from '../../src/cli/commands.js'
import { codeAt } from '../../src/mfa/totp.js'
import { eachBackend, makeApp, type TestApp } from '../helpers/backends.js'
import { linkToken, startInbox } from '../helpers/smtp.js'

t.setTimeout(240_000)

const V1 = '/api/v1/auth'
const KEK = 'audit-test-key-encryption-key-32-bytes'
const UA = 'AuditTest/1.0 (phone)'

type Entry = {
  id: number
  at: string
  type: string
  user_id: number | null
  session_id: number | null
  actor_id: number | null
  client_id: number | null
  ip: string | null
  user_agent: string | null
  request_id: string | null
  details: Record<string, unknown>
}

async function superuser(app: TestApp) {
  const admin = await app.createUser({ isStaff: true, isSuperuser: true })
  const { access } = await app.login(admin.username, admin.password)
  return { ...admin, headers: app.bearer(access) }
}

/** Every row the API gives for the query, following the cursors. */
async function audit(app: TestApp, headers: Record<string, string>, query = ''): Promise<Entry[]> {
  await app.app.audit.flush()
  const rows: Entry[] = []
  let url: string | null = `${V1}/admin/audit/?page_size=200${query ? `&${query}` : ''}`
  while (url) {
    const res = await app.request({ method: 'GET', url, headers })
    if (res.statusCode !== 200) throw new Error(`audit ${res.statusCode} ${res.body}`)
    const body = res.json()
    rows.push(...body.results)
    url = body.next ? new URL(body.next).pathname + new URL(body.next).search : null
  }
  return rows
}

const post = (app: TestApp, url: string, payload?: object, headers: Record<string, string> = {}) =>
  app.request({ method: 'POST', url, payload, headers: { 'user-agent': UA, ...headers } })

function one(t: Test, rows: Entry[], type: string, match: Partial<Entry> & Record<string, unknown>) {
  const found = rows.filter(
    (r) => r.type === type && Object.entries(match).every(([k, v]) => sameish(r[k as keyof Entry], v)),
  )
  t.equal(found.length, 1, `one ${type} row ${JSON.stringify(match)}`)
  return found[0]
}

function sameish(actual: unknown, expected: unknown): boolean {
  if (expected && typeof expected === 'object') {
    return Object.entries(expected).every(
      ([k, v]) => JSON.stringify((actual as Record<string, unknown>)?.[k]) === JSON.stringify(v),
    )
  }
  return actual === expected
}

t.test('each security event becomes one audit row with who, what, where', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const app = await makeApp(t, backend, {
      auditFlushMs: 20,
      keyEncryptionKey: KEK,
      refreshReuseGraceSeconds: 0,
    })
    const admin = await superuser(app)
    const user = await app.createUser({ clientName: 'acme' })

    // Logins: success, wrong password, unknown user.
    const first = await post(app, `${V1}/token/`, { username: user.username, password: user.password })
    t.equal(first.statusCode, 200)
    const firstRequestId = first.headers['x-request-id']
    await post(app, `${V1}/token/`, { username: user.username, password: 'wrong-password-1' })
    await post(app, `${V1}/token/`, { username: 'nobody-at-all', password: 'guess-password' })

    // Refresh, then the spent token again: reuse.
    const { refresh: spent, session_id: sid1 } = first.json()
    const renewed = await post(app, `${V1}/token/refresh/`, { refresh: spent })
    t.equal(renewed.statusCode, 200)
    t.equal((await post(app, `${V1}/token/refresh/`, { refresh: spent })).statusCode, 401)

    // Blacklist, logout, own revoke, staff revoke.
    const s2 = await app.login(user.username, user.password)
    t.equal((await post(app, `${V1}/token/blacklist/`, { refresh: s2.refresh })).statusCode, 200)
    const s3 = await app.login(user.username, user.password)
    t.equal((await post(app, `${V1}/logout/`, { refresh: s3.refresh })).statusCode, 200)
    const s4 = await app.login(user.username, user.password)
    const s5 = await app.login(user.username, user.password)
    const own = await post(app, `${V1}/sessions/${s4.session_id}/revoke/`, {}, app.bearer(s5.access))
    t.equal(own.statusCode, 200)
    const byStaff = await post(app, `${V1}/admin/sessions/${s5.session_id}/revoke/`, {}, admin.headers)
    t.equal(byStaff.statusCode, 200)

    // Password change and logout everywhere.
    const s6 = await app.login(user.username, user.password)
    const changed = await post(
      app,
      `${V1}/users/me/password/`,
      { old_password: user.password, new_password: 'a-new-Password-42' },
      app.bearer(s6.access),
    )
    t.equal(changed.statusCode, 200, changed.body)
    t.equal((await post(app, `${V1}/logout/all/`, {}, app.bearer(s6.access))).statusCode, 200)

    // Staff manage a user.
    const created = await post(
      app,
      `${V1}/users/`,
      { username: 'audited-new', email: 'audited-new@example.com', password: 'Password-audited-1' },
      admin.headers,
    )
    t.equal(created.statusCode, 201, created.body)
    const newId = created.json().id
    const patch = (payload: object) =>
      app.request({ method: 'PATCH', url: `${V1}/users/${newId}/`, payload, headers: admin.headers })
    t.equal((await patch({ first_name: 'Ada', last_name: 'L' })).statusCode, 200)
    t.equal((await patch({ is_active: false })).statusCode, 200)

    // Two-factor: on, a challenge, a wrong code, a right one, off, on again, reset by staff.
    const mfaUser = await app.createUser()
    const m = await app.login(mfaUser.username, mfaUser.password)
    const setup = await post(app, `${V1}/mfa/totp/setup/`, {}, app.bearer(m.access))
    const secret = setup.json().secret
    const on = await post(
      app,
      `${V1}/mfa/totp/confirm/`,
      { code: codeAt(secret, Date.now() - 30_000) },
      app.bearer(m.access),
    )
    t.equal(on.statusCode, 200)
    const challenged = await post(app, `${V1}/token/`, {
      username: mfaUser.username,
      password: mfaUser.password,
    })
    t.equal(challenged.statusCode, 401)
    const mfaToken = challenged.json().mfa_token
    t.equal((await post(app, `${V1}/token/mfa/`, { mfa_token: mfaToken, code: '000000' })).statusCode, 401)
    const done = await post(app, `${V1}/token/mfa/`, { mfa_token: mfaToken, code: codeAt(secret) })
    t.equal(done.statusCode, 200, done.body)
    const off = await post(
      app,
      `${V1}/mfa/disable/`,
      { password: mfaUser.password },
      app.bearer(done.json().access),
    )
    t.equal(off.statusCode, 200, off.body)
    const again = await post(app, `${V1}/mfa/totp/setup/`, {}, app.bearer(done.json().access))
    await post(
      app,
      `${V1}/mfa/totp/confirm/`,
      { code: codeAt(again.json().secret, Date.now() + 30_000) },
      app.bearer(done.json().access),
    )
    const reset = await app.request({
      method: 'DELETE',
      url: `${V1}/users/${mfaUser.id}/mfa/`,
      headers: admin.headers,
    })
    t.equal(reset.statusCode, 200, reset.body)

    // The kill switch, and a key rotation from the command line.
    t.equal((await post(app, `${V1}/admin/invalidate-all-tokens/`, {}, admin.headers)).statusCode, 200)
    const printed: string[] = []
    await commands['rotate-key']!.run(
      { 'signs-in': '0' },
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

    const staff = await superuser(app) // the switch logged the first one out
    const rows = await audit(app, staff.headers)

    const login = one(t, rows, 'login.succeeded', { session_id: sid1 })
    t.equal(login.user_id, user.id)
    t.equal(login.ip, '127.0.0.1')
    t.equal(login.user_agent, UA)
    t.equal(login.request_id, firstRequestId, 'the row carries the request id the answer gave')
    t.match(login.details, { method: 'password', client_type: 'unknown' })
    t.equal(login.client_id, (await app.app.repos.users.findById(user.id))?.clientId, "the user's tenant")
    one(t, rows, 'login.failed', { user_id: user.id, details: { reason: 'wrong_password' } })
    const unknown = one(t, rows, 'login.failed', { user_id: null, details: { reason: 'unknown_user' } })
    t.equal(unknown.details.identifier, 'nobody-at-all')
    t.notOk(JSON.stringify(rows).includes('wrong-password-1'), 'no password in any row')
    t.notOk(JSON.stringify(rows).includes('guess-password'), 'no guessed password in any row')
    one(t, rows, 'token.refreshed', { session_id: sid1, details: { rotated: true } })
    one(t, rows, 'token.reuse_detected', { session_id: sid1, user_id: user.id })
    one(t, rows, 'suspicious.refresh_reuse', { session_id: sid1, user_id: user.id })
    one(t, rows, 'token.blacklisted', { session_id: s2.session_id })
    one(t, rows, 'session.logout', { session_id: s3.session_id, user_id: user.id })
    one(t, rows, 'session.revoked', {
      session_id: s4.session_id,
      actor_id: user.id,
      details: { reason: 'user_revoked' },
    })
    one(t, rows, 'session.revoked', {
      session_id: s5.session_id,
      actor_id: admin.id,
      details: { reason: 'admin_revoked' },
    })
    one(t, rows, 'password.changed', { user_id: user.id, session_id: s6.session_id })
    one(t, rows, 'sessions.revoked_all', { user_id: user.id, details: { reason: 'logout_all' } })
    one(t, rows, 'user.created', { user_id: newId, actor_id: admin.id })
    one(t, rows, 'user.updated', {
      user_id: newId,
      actor_id: admin.id,
      details: { fields: ['first_name', 'last_name'] },
    })
    one(t, rows, 'user.deactivated', {
      user_id: newId,
      actor_id: admin.id,
      details: { fields: ['is_active'] },
    })
    t.equal(rows.filter((r) => r.type === 'mfa.enabled' && r.user_id === mfaUser.id).length, 2)
    one(t, rows, 'mfa.challenged', { user_id: mfaUser.id })
    one(t, rows, 'mfa.failed', { user_id: mfaUser.id })
    one(t, rows, 'login.succeeded', { user_id: mfaUser.id, details: { method: 'mfa' } })
    one(t, rows, 'mfa.disabled', { user_id: mfaUser.id })
    one(t, rows, 'mfa.reset', { user_id: mfaUser.id, actor_id: admin.id })
    one(t, rows, 'tokens.invalidated_all', { actor_id: admin.id })
    const rotated = one(t, rows, 'key.rotated', {})
    t.match(rotated.details, { kid: /\S+/, algorithm: 'HS256' })
    t.ok(rows.every((r) => /^\d{4}-\d\d-\d\dT/.test(r.at)))
  })
})

t.test(
  'rate limits, password reset and suspicious activity are events too; alerts can be mailed',
  async (t) => {
    await eachBackend(t, async (t, backend) => {
      const inbox = await startInbox(t)
      const app = await makeApp(t, backend, {
        auditFlushMs: 20,
        loginRateLimit: 3,
        failedLoginAlertThreshold: 3,
        suspiciousActivityMail: true,
        mailEnabled: true,
        smtpUrl: inbox.url,
        publicUrl: 'https://auth.example.com',
      })
      const admin = await superuser(app)
      const user = await app.createUser()
      const wrong = () => post(app, `${V1}/token/`, { username: user.username, password: 'not-it' })
      for (let i = 0; i < 3; i++) t.equal((await wrong()).statusCode, 401)
      t.equal((await wrong()).statusCode, 429)

      // A new device: the first login is no alert, a second from another client is.
      const other = await app.createUser()
      await post(app, `${V1}/token/`, { username: other.username, password: other.password })
      await post(
        app,
        `${V1}/token/`,
        { username: other.username, password: other.password },
        { 'user-agent': 'Other/2.0' },
      )
      await post(
        app,
        `${V1}/token/`,
        { username: other.username, password: other.password },
        { 'user-agent': 'Other/2.0' },
      )

      t.equal(
        (await post(app, `${V1}/password/reset/`, { email: `${other.username}@example.com` })).statusCode,
        202,
      )
      await app.app.background.settle()
      // Two mails reach this user, in either order: the alert about the new device, and the link.
      const to = `${other.username}@example.com`
      const mails = [await inbox.next(to), await inbox.next(to)]
      const resetMail = mails.find((m) => /password/i.test(m.subject ?? ''))
      const mail = mails.find((m) => /Security notice/.test(m.subject ?? ''))
      t.ok(resetMail && mail, 'the reset link and the alert')
      const { token } = linkToken(resetMail!)
      const confirmed = await post(app, `${V1}/password/reset/confirm/`, {
        token,
        new_password: 'Reset-password-77',
      })
      t.equal(confirmed.statusCode, 200, confirmed.body)

      const rows = await audit(app, admin.headers)
      one(t, rows, 'rate_limit.hit', { details: { route: `${V1}/token/` } })
      t.equal(rows.filter((r) => r.type === 'login.failed' && r.user_id === user.id).length, 3)
      one(t, rows, 'suspicious.failed_logins', { user_id: user.id, details: { failures: 3 } })
      const alert = one(t, rows, 'suspicious.new_device', { user_id: other.id })
      t.match(alert.details, { new_device: true, new_network: false })
      t.equal(alert.user_agent, 'Other/2.0')
      one(t, rows, 'password.reset', { user_id: other.id })

      t.match(mail?.text, /device or network not seen before/)
      t.match(mail?.text, /\(an unknown browser\)/, 'the user agent as a summary, never its text')
      const warned = await inbox.next(`${user.username}@example.com`)
      t.match(warned.text, /many failed login attempts/)
    })
  },
)

t.test('the audit API: filters, cursor pages, tenants, refusals', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const app = await makeApp(t, backend, { auditFlushMs: 20, trustProxy: 1 })
    const admin = await superuser(app)
    const acmeStaff = await app.createUser({ clientName: 'acme', isStaff: true })
    const acmeUser = await app.createUser({ clientName: 'acme' })
    const globexUser = await app.createUser({ clientName: 'globex' })
    const staffLogin = await app.login(acmeStaff.username, acmeStaff.password)
    const staffHeaders = app.bearer(staffLogin.access)
    const before = new Date().toISOString()
    for (let i = 0; i < 7; i++) await app.login(acmeUser.username, acmeUser.password)
    for (let i = 0; i < 3; i++) await app.login(globexUser.username, globexUser.password)
    await post(
      app,
      `${V1}/token/`,
      { username: globexUser.username, password: 'nope' },
      { 'x-forwarded-for': '203.0.113.9' },
    )

    const all = await audit(app, admin.headers)
    t.ok(
      all.some((r) => r.user_id === globexUser.id),
      'a superuser sees every tenant',
    )
    const acme = await audit(app, staffHeaders)
    t.ok(acme.length >= 8)
    t.ok(
      acme.every((r) => r.user_id === acmeUser.id || r.user_id === acmeStaff.id),
      "a tenant's staff sees only its tenant's rows",
    )
    const foreign = await audit(app, staffHeaders, `user_id=${globexUser.id}`)
    t.same(foreign, [], "filtering on another tenant's user finds nothing")

    const mine = await audit(app, admin.headers, `user_id=${acmeUser.id}&type=login.succeeded`)
    t.equal(mine.length, 7)
    t.ok(
      mine.every((r, i) => i === 0 || r.id < mine[i - 1]!.id),
      'newest first',
    )
    const failed = await audit(
      app,
      admin.headers,
      'type=login.failed,login.succeeded&user_id=' + globexUser.id,
    )
    t.equal(failed.length, 4)
    t.equal(
      (await audit(app, admin.headers, `since=${encodeURIComponent(before)}&user_id=${acmeUser.id}`)).length,
      7,
    )
    const fromThere = await audit(app, admin.headers, 'ip=203.0.113.9')
    t.same(
      fromThere.map((r) => [r.type, r.user_id]),
      [['login.failed', globexUser.id]],
      'the ip filter',
    )
    t.equal(
      (await audit(app, admin.headers, `until=${encodeURIComponent(before)}&user_id=${acmeUser.id}`)).length,
      0,
    )

    // Pages of 3 cover the same rows once each, in order.
    let url: string | null = `${V1}/admin/audit/?page_size=3&user_id=${acmeUser.id}`
    const paged: number[] = []
    while (url) {
      const res = await app.request({ method: 'GET', url, headers: admin.headers })
      const body = res.json()
      t.ok(body.results.length <= 3)
      paged.push(...body.results.map((r: Entry) => r.id))
      url = body.next ? new URL(body.next).pathname + new URL(body.next).search : null
    }
    t.same(
      paged,
      mine.map((r) => r.id),
    )

    const get = (query: string, headers = admin.headers) =>
      app.request({ method: 'GET', url: `${V1}/admin/audit/?${query}`, headers })
    const badType = await get('type=login.succeeded,drop table')
    t.equal(badType.statusCode, 400)
    t.same(badType.json(), { type: ['"drop table" is not a valid choice.'] })
    t.equal((await get('since=yesterday')).statusCode, 400)
    t.equal((await get('cursor=abc')).statusCode, 400)
    t.equal((await get('user_id=0')).statusCode, 400)
    const plain = await app.login(acmeUser.username, acmeUser.password)
    t.equal((await get('', app.bearer(plain.access))).statusCode, 403, 'not for non-staff')
    t.equal((await app.request({ method: 'GET', url: `${V1}/admin/audit/` })).statusCode, 401)
  })
})

t.test('a clean shutdown writes every recorded event; prune-audit deletes old ones', async (t) => {
  await eachBackend(t, async (t, backend) => {
    // A flush period far longer than the test: only the shutdown can write these rows.
    const app = await makeApp(t, backend, { auditFlushMs: 10_000 })
    const user = await app.createUser()
    for (let i = 0; i < 25; i++) await app.login(user.username, user.password)
    t.equal(app.app.audit.pending, 25, 'held in memory, not yet written')
    await app.app.close()
    const rows = await app.app.repos.audit.list({ userId: user.id, limit: 100 })
    t.equal(rows.length, 25, 'all 25 written on close')

    // Age ten of them, then prune with the default retention.
    const old = rows.slice(0, 10).map((r) => r.id)
    const { auditEvents } = await import('../../schema/db.js')
    const { inArray } = await import('drizzle-orm')
    await app.database.db
      .update(auditEvents)
      .set({ at: new Date(Date.now() - 200 * 86_400_000) })
      .where(inArray(auditEvents.id, old))
    const printed: string[] = []
    const ctx = {
      config: app.config,
      repos: app.app.repos,
      revocations: app.app.revocations,
      hasher: app.app.hasher,
      store: app.store,
      where: 'test',
      inServer: false,
      print: (line: string) => printed.push(line),
    }
    await commands['prune-audit']!.run({}, ctx)
    t.match(printed.join('\n'), /Deleted 10 audit event/)
    t.equal((await app.app.repos.audit.list({ userId: user.id, limit: 100 })).length, 15)
    await t.rejects(commands['prune-audit']!.run({ days: '-1' }, ctx), /--days/)
  })
})

t.test('AUDIT_ENABLED=false writes nothing and logins work as before', async (t) => {
  const app = await makeApp(t, 'embedded', { auditEnabled: false, auditFlushMs: 10 })
  const user = await app.createUser()
  await app.login(user.username, user.password)
  await app.app.audit.flush()
  t.equal(app.app.audit.pending, 0)
  t.same(await app.app.repos.audit.list({ limit: 10 }), [])
})
