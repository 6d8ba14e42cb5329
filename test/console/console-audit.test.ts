import type { AddressInfo } from 'node:net'
import type { Page } from 'playwright-core'
import t from 'tap'
import { makeApp } from '../helpers/backends.js'
import { launchChromium } from '../helpers/browser.js'

/**
 * The console's Audit page in a real Chromium: security events produced through the API are
 * listed with their type, user, actor, session and origin; the filters and cursor paging narrow
 * and walk them; a tenant's operator sees their tenant only; and client-supplied text stays text.
 */
const V1 = '/api/v1/auth'
const HOSTILE = '<img src=x onerror="window.__pwned=1">'

interface Row {
  id: number
  type: string
  kind: string
  /** The id in the user and actor cells, as filters take it; the username beside it. */
  user: string
  userName: string
  actor: string
  actorName: string
  session: string
  ip: string
  ua: string
  uaTitle: string | null
  requestId: string
  details: string
}

async function auditRows(page: Page): Promise<Row[]> {
  return page.$$eval('#audit-body tr[data-audit-id]', (trs) =>
    trs.map((tr) => {
      const cells = [...tr.querySelectorAll('td')]
      const text = cells.map((td) => td.textContent ?? '')
      const idIn = (td?: Element) => td?.querySelector('.user-id')?.textContent ?? td?.textContent ?? ''
      const nameIn = (td?: Element) => td?.querySelector('.user')?.textContent ?? ''
      return {
        id: Number((tr as HTMLElement).dataset.auditId),
        type: text[1]!,
        kind: cells[1]?.querySelector('.badge')?.className ?? '',
        user: idIn(cells[2]),
        userName: nameIn(cells[2]),
        actor: idIn(cells[3]),
        actorName: nameIn(cells[3]),
        session: text[4]!,
        ip: text[5]!,
        ua: text[6]!,
        uaTitle: cells[6]?.getAttribute('title') ?? null,
        requestId: text[7]!,
        details: text[8]!,
      }
    }),
  )
}

/** Polls the table until `ready` holds and no load is under way. */
async function waitRows(page: Page, ready: (rows: Row[]) => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const busy = await page.locator('#audit-body[aria-busy]').count()
    const rows = await auditRows(page)
    if (!busy && ready(rows)) return rows
    if (Date.now() > deadline)
      throw new Error(`table never reached the expected state: ${JSON.stringify(rows)}`)
    await page.waitForTimeout(50)
  }
}

/** Waits until page `n` of the audit table is shown. */
async function onPage(page: Page, n: number) {
  await page.waitForFunction(
    (n) =>
      !document.getElementById('audit-body')?.hasAttribute('aria-busy') &&
      document.getElementById('audit-page')?.textContent === `Page ${n}`,
    n,
  )
  return (await auditRows(page)).map((r) => r.id)
}

async function signIn(page: Page, username: string, password: string) {
  await page.getByLabel('Username or e-mail').fill(username)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.locator('#sessions-view').waitFor()
}

/** `2030-01-02T03:04` for a datetime-local input, in UTC. */
function minuteUtc(date: Date) {
  return date.toISOString().slice(0, 16)
}

t.test('staff read the audit trail in the console', async (t) => {
  const browser = await launchChromium(t)
  if (!browser) return
  const h = await makeApp(t, 'embedded', { auditFlushMs: 20 })
  await h.app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`

  const admin = await h.createUser({ username: 'olga.ops', isStaff: true, isSuperuser: true })
  const tina = await h.createUser({ username: 'tina.acme', isStaff: true, clientName: 'acme' })
  const ann = await h.createUser({ username: 'ann.acme', clientName: 'acme' })
  const alice = await h.createUser({ username: 'alice' })
  const bob = await h.createUser({ username: 'bob' })

  // The events: logins, a failed one, a login from another device and network, a revoke by staff.
  const aliceFirst = await h.login(alice.username, alice.password)
  const hostile = await h.request({
    method: 'POST',
    url: `${V1}/token/`,
    payload: { username: alice.username, password: alice.password },
    headers: { 'user-agent': HOSTILE },
    remoteAddress: '203.0.113.9',
  })
  t.equal(hostile.statusCode, 200, 'alice signs in from another device')
  const wrong = await h.request({
    method: 'POST',
    url: `${V1}/token/`,
    payload: { username: bob.username, password: 'not-his-password' },
  })
  t.equal(wrong.statusCode, 401, 'bob mistypes his password')
  // Enough rows for several pages of ten.
  for (let i = 0; i < 14; i++) await h.login(bob.username, bob.password)
  const adminApi = h.bearer((await h.login(admin.username, admin.password)).access)
  const revoke = await h.request({
    method: 'POST',
    url: `${V1}/admin/sessions/${aliceFirst.session_id}/revoke/`,
    headers: adminApi,
  })
  t.equal(revoke.statusCode, 200, "staff revoke alice's first session")
  await h.login(ann.username, ann.password)
  await h.request({
    method: 'POST',
    url: `${V1}/token/`,
    payload: { username: ann.username, password: 'wrong' },
  })
  await h.app.audit.flush()

  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } })
  const page = await context.newPage()
  const problems: string[] = []
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
  page.on('console', (msg) => {
    // The 503 is the one this test makes up on purpose.
    if (msg.type() === 'error' && !/status of (401|503)/.test(msg.text()))
      problems.push(`console: ${msg.text()}`)
  })
  let typeFetches = 0
  page.on('request', (req) => {
    if (new URL(req.url()).pathname === `${V1}/admin/audit/event-types/`) typeFetches++
  })

  await page.goto(`${base}/admin/`)
  await signIn(page, admin.username, admin.password)
  await page.getByRole('link', { name: 'Audit' }).click()
  await page.locator('#audit-view').waitFor()

  await t.test('the events are listed with their type, user, actor, session and origin', async (t) => {
    const rows = await waitRows(page, (rows) => rows.some((r) => r.type === 'session.revoked'))
    const revoked = rows.find((r) => r.type === 'session.revoked')!
    t.equal(revoked.user, String(alice.id))
    t.equal(revoked.userName, 'alice', 'the username beside the id')
    t.equal(revoked.actor, String(admin.id), 'the staff member who did it')
    t.equal(revoked.actorName, 'olga.ops', 'by name too')
    t.equal(revoked.session, String(aliceFirst.session_id))
    t.equal(revoked.ip, '127.0.0.1')
    t.not(revoked.requestId, '—', 'with the id of the request')
    t.match(revoked.details, /reason=/)

    const failed = rows.find((r) => r.type === 'login.failed' && r.user === String(bob.id))
    t.ok(failed, "bob's failed login is listed")
    t.match(failed?.details, /reason=wrong_password/)
    t.match(failed?.kind, /badge-warn/, 'failures are highlighted')

    const suspicious = rows.find((r) => r.type === 'suspicious.new_device' && r.user === String(alice.id))
    t.ok(suspicious, "alice's new device raised an alert")
    t.match(suspicious?.kind, /badge-alert/, 'alerts are highlighted')
    t.equal(rows.filter((r) => r.type === 'login.succeeded' && r.user === String(bob.id)).length, 14)
    t.ok(
      rows.every((r, i) => i === 0 || r.id < rows[i - 1]!.id),
      'newest first',
    )
  })

  await t.test('markup in a user agent is shown as text and never runs', async (t) => {
    const rows = await auditRows(page)
    const login = rows.find((r) => r.type === 'login.succeeded' && r.ip === '203.0.113.9')
    t.equal(login?.user, String(alice.id))
    t.equal(login?.ua, HOSTILE, 'shown as it came')
    t.equal(login?.uaTitle, HOSTILE, 'in full in the title')
    t.equal(await page.locator('#audit-body img').count(), 0, 'no element was made from it')
    t.equal(await page.evaluate(() => (window as { __pwned?: number }).__pwned), undefined)
  })

  await t.test('filtering by type, user id and IP narrows the rows', async (t) => {
    await page.getByLabel('Event type', { exact: true }).selectOption('login.failed')
    let rows = await waitRows(page, (rows) => rows.length > 0 && rows.every((r) => r.type === 'login.failed'))
    t.same(
      rows.map((r) => r.user),
      [String(ann.id), String(bob.id)],
      'the failed logins of every tenant, for a superuser',
    )
    await page.getByLabel('Event type', { exact: true }).selectOption('')

    await page.getByLabel('User id').fill(String(alice.id))
    await page.getByLabel('User id').press('Enter')
    rows = await waitRows(page, (rows) => rows.length > 0 && rows.every((r) => r.user === String(alice.id)))
    const types = new Set(rows.map((r) => r.type))
    for (const type of ['login.succeeded', 'suspicious.new_device', 'session.revoked']) {
      t.ok(types.has(type), `alice's ${type} is listed`)
    }
    await page.getByLabel('User id').fill('')

    await page.getByLabel('IP address').fill('203.0.113.9')
    await page.getByLabel('IP address').press('Enter')
    rows = await waitRows(page, (rows) => rows.length > 0 && rows.every((r) => r.ip === '203.0.113.9'))
    t.ok(rows.some((r) => r.type === 'login.succeeded'))
    await page.getByLabel('IP address').fill('')
  })

  await t.test(
    'since and until are sent as UTC instants; nothing matching shows the empty state',
    async (t) => {
      const since = minuteUtc(new Date(Date.now() + 3_600_000))
      await page.getByLabel('Since (UTC)').fill(since)
      let request = page.waitForRequest((r) => new URL(r.url()).pathname === `${V1}/admin/audit/`)
      await page.getByRole('button', { name: 'Search' }).click()
      t.equal(new URL((await request).url()).searchParams.get('since'), `${since}:00.000Z`)
      await page.locator('#audit-body tr.empty').getByText('No events match these filters.').waitFor()
      t.equal((await auditRows(page)).length, 0)

      await page.getByLabel('Since (UTC)').fill('')
      await page.getByLabel('Until (UTC)').fill('2000-01-01T00:00')
      request = page.waitForRequest((r) => new URL(r.url()).pathname === `${V1}/admin/audit/`)
      await page.getByRole('button', { name: 'Search' }).click()
      t.equal(new URL((await request).url()).searchParams.get('until'), '2000-01-01T00:00:59.999Z')
      await page.locator('#audit-body tr.empty').waitFor()

      await page.getByLabel('Until (UTC)').fill(minuteUtc(new Date(Date.now() + 3_600_000)))
      await page.getByRole('button', { name: 'Search' }).click()
      await waitRows(page, (rows) => rows.length > 0)
      await page.getByLabel('Until (UTC)').fill('')
    },
  )

  await t.test('Older pages walk every event by cursor; Newer and Newest come back', async (t) => {
    await h.app.audit.flush()
    const all = await h.request({ method: 'GET', url: `${V1}/admin/audit/?page_size=200`, headers: adminApi })
    const ids: number[] = all.json().results.map((e: { id: number }) => e.id)
    t.ok(ids.length > 20, `${ids.length} events: three pages of ten or more`)

    await page.getByLabel('Rows').selectOption('10')
    await waitRows(page, (rows) => rows.length === 10 && rows[0]!.id === ids[0])
    const first = await onPage(page, 1)
    t.ok(await page.getByRole('button', { name: '‹ Newer' }).isDisabled(), 'nothing newer on the first page')
    const seen = [...first]
    let n = 1
    while (await page.getByRole('button', { name: 'Older ›' }).isEnabled()) {
      await page.getByRole('button', { name: 'Older ›' }).click()
      n++
      seen.push(...(await onPage(page, n)))
    }
    t.same(seen, ids, 'every event once, newest first, across the pages')
    t.ok(n >= 3, `${n} pages`)
    t.match(await page.locator('#audit-count').textContent(), `Events ${(n - 1) * 10 + 1}–${ids.length}`)

    await page.getByRole('button', { name: '‹ Newer' }).click()
    t.same(await onPage(page, n - 1), ids.slice((n - 2) * 10, (n - 1) * 10), 'one page back')
    await page.getByRole('button', { name: '« Newest' }).click()
    t.same(await onPage(page, 1), first, 'back to the newest page')
  })

  await t.test('a failing request is explained in the error line', async (t) => {
    const match = (url: URL) => url.pathname === `${V1}/admin/audit/`
    await page.route(match, (route) =>
      route.fulfill({
        status: 503,
        contentType: 'application/json',
        body: JSON.stringify({ detail: 'The audit store is away.', code: 'service_unavailable' }),
      }),
    )
    await page.getByRole('button', { name: 'Search' }).click()
    await page.locator('#audit-error:not([hidden])').waitFor()
    t.equal(await page.locator('#audit-error').textContent(), 'The audit store is away.')
    await page.unroute(match)
    await page.getByRole('button', { name: 'Search' }).click()
    await page.locator('#audit-error[hidden]').waitFor({ state: 'attached' })
    await waitRows(page, (rows) => rows.length > 0)
  })

  await t.test('one list of event types, fetched once, serves Audit and Webhooks', async (t) => {
    const types = (
      await h.request({ method: 'GET', url: `${V1}/admin/audit/event-types/`, headers: adminApi })
    ).json().event_types as string[]
    const options = (id: string) =>
      page.$$eval(`#${id} option`, (os) => os.map((o) => (o as HTMLOptionElement).value))
    t.same(await options('audit-type'), ['', ...types])
    await page.getByRole('link', { name: 'Webhooks' }).click()
    await page.locator('#webhooks-view').waitFor()
    await page.waitForFunction(() => document.querySelectorAll('#webhook-types option').length > 0)
    t.same(await options('webhook-types'), types)
    t.equal(typeFetches, 1, 'the list was fetched once')
  })

  await t.test("a tenant's operator sees only their tenant's events", async (t) => {
    await page.getByRole('button', { name: 'Log out' }).click()
    await page.locator('#login-view').waitFor()
    await signIn(page, tina.username, tina.password)
    t.notOk(await page.getByRole('link', { name: 'Webhooks' }).isVisible(), 'no Webhooks tab')
    await page.getByRole('link', { name: 'Audit' }).click()
    await page.locator('#audit-view').waitFor()
    await page.getByLabel('Rows').selectOption('50')
    const rows = await waitRows(page, (rows) =>
      rows.some((r) => r.type === 'login.failed' && r.user === String(ann.id)),
    )
    const acme = new Set([String(ann.id), String(tina.id)])
    t.ok(
      rows.every((r) => acme.has(r.user)),
      'every row is about an acme user',
    )
    t.ok(rows.some((r) => r.type === 'login.succeeded' && r.user === String(ann.id)))
    t.notOk(
      rows.some((r) => r.user === String(alice.id) || r.user === String(bob.id)),
      'nothing about other tenants',
    )
    t.equal(await page.locator('#audit-page').textContent(), 'Page 1', 'from the newest page')
  })

  t.same(problems, [], 'no script errors or policy violations in the page')
})
