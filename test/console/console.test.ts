import { existsSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { AddressInfo } from 'node:net'
import type { Page } from 'playwright-core'
import t from 'tap'
import { type BackendName, makeApp, probeRealServers } from '../helpers/backends.js'
import { launchChromium } from '../helpers/browser.js'
import { codeAt } from '../../src/mfa/totp.js'

/**
 * The operator console end to end: a real Chromium drives /admin/ against a listening service,
 * and what the operator did in the page is checked through the API itself.
 */
// A test artifact (gitignored); the README's pictures come from test/console/console-layout.test.ts.
const SCREENSHOT = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '.tap',
  'screenshots',
  'console-operator.png',
)
const V1 = '/api/v1/auth'

/** One backend is enough for a UI test: the real ones when reachable, else the embedded ones. */
async function oneBackend(): Promise<BackendName> {
  const { pg, redis } = await probeRealServers()
  return !pg && !redis ? 'real' : 'embedded'
}

t.test('the console is three static files with a strict policy, hidden from the API schema', async (t) => {
  const h = await makeApp(t, 'embedded')
  for (const url of ['/admin/', '/admin']) {
    const page = await h.request({ method: 'GET', url })
    t.equal(page.statusCode, 200, `${url} serves the page`)
    t.match(page.headers['content-type'], /^text\/html/)
    t.equal(page.headers['cache-control'], 'no-cache')
    const csp = String(page.headers['content-security-policy'])
    t.match(csp, /default-src 'self'/)
    t.match(csp, /script-src 'self'(;|$)/, 'no inline script allowed')
    t.notMatch(csp, /unsafe-inline|unsafe-eval/)
    t.match(page.body, /<script type="module" src="\/admin\/console\.js"><\/script>/)
    t.notMatch(page.body, /<script>/, 'the page has no inline script')
  }
  const js = await h.request({ method: 'GET', url: '/admin/console.js' })
  t.equal(js.statusCode, 200)
  t.match(js.headers['content-type'], /^application\/javascript/)
  t.notMatch(js.body, /innerHTML|insertAdjacentHTML|document\.write/, 'data never becomes markup')
  const css = await h.request({ method: 'GET', url: '/admin/console.css' })
  t.equal(css.statusCode, 200)
  t.match(css.headers['content-type'], /^text\/css/)

  for (const url of [
    '/admin/../package.json',
    '/admin/index.html',
    '/admin/%2e%2e/package.json',
    '/admin/nope.js',
  ]) {
    const res = await h.request({ method: 'GET', url })
    t.equal(res.statusCode, 404, `${url} is not served`)
  }

  const schema = (await h.request({ method: 'GET', url: '/api/v1/schema/' })).json()
  const paths = Object.keys(schema.paths ?? {})
  t.notOk(
    paths.some((p) => p === '/admin/' || p === '/admin' || p.startsWith('/admin/console')),
    'console routes are not in the OpenAPI document',
  )
})

t.test('an operator manages sessions and users in a real browser', async (t) => {
  const browser = await launchChromium(t)
  if (!browser) return
  const backend = await oneBackend()
  t.comment(`backend: ${backend}`)
  const h = await makeApp(t, backend)
  await h.app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`

  const admin = await h.createUser({
    username: 'olga.ops',
    isStaff: true,
    isSuperuser: true,
    firstName: 'Olga',
    lastName: 'Operator',
  })
  const alice = await h.createUser({ username: 'alice', firstName: 'Alice', lastName: 'Anders' })
  const bob = await h.createUser({ username: 'bob', firstName: 'Bob', lastName: 'Brown' })
  const carol = await h.createUser({ username: 'carol', firstName: 'Carol', lastName: 'Chen' })
  const aliceWeb = await h.login(alice.username, alice.password, {
    client_type: 'website',
    device_name: 'Alice laptop',
  })
  const aliceMobile = await h.login(alice.username, alice.password, {
    client_type: 'mobile',
    device_name: 'Alice phone',
  })
  await h.login(bob.username, bob.password, { client_type: 'mobile', device_name: 'Pixel 8' })
  const bobBot = await h.login(bob.username, bob.password, {
    client_type: 'telegram_bot',
    device_name: 'Support bot',
    telegram_user_id: 4242,
    telegram_username: 'bob_b',
  })
  const carolWeb = await h.login(carol.username, carol.password, {
    client_type: 'website',
    device_name: 'Firefox on Ubuntu',
  })

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  const page = await context.newPage()
  const problems: string[] = []
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
  page.on('console', (msg) => {
    // 401s the console handles by design are logged by Chromium as failed loads; anything else is a bug.
    if (msg.type() === 'error' && !/status of 401/.test(msg.text())) problems.push(`console: ${msg.text()}`)
  })

  await page.goto(`${base}/admin/`)
  await page.getByLabel('Username or e-mail').waitFor()

  await t.test('a wrong password and a non-staff account are refused with readable messages', async (t) => {
    await signIn(page, admin.username, 'wrong-password')
    t.match(await alertText(page), /No active account found with the given credentials/)
    await signIn(page, alice.username, alice.password)
    t.match(await alertText(page, /staff only/), /staff only/)
    t.ok(await page.locator('#login-view').isVisible(), 'still on the login form')
  })

  await signIn(page, admin.username, admin.password)
  await page.locator('#sessions-view').waitFor()
  await rowFor(page, aliceWeb.session_id).waitFor()

  await t.test('the sessions table lists every login', async (t) => {
    const rows = await sessionRows(page)
    for (const s of [aliceWeb, aliceMobile, bobBot, carolWeb]) {
      t.ok(
        rows.some((r) => r.id === s.session_id),
        `session ${s.session_id} is listed`,
      )
    }
    const web = rows.find((r) => r.id === aliceWeb.session_id)!
    t.equal(web.user, alice.username)
    t.equal(web.client, 'Website')
    t.equal(web.device, 'Alice laptop')
    t.equal(web.ip, '127.0.0.1')
    t.equal(web.state, 'Active')
    t.equal(rows.find((r) => r.id === bobBot.session_id)?.client, 'Telegram bot')
    t.equal(await page.locator('#whoami').textContent(), `${admin.username} superuser`)
    const own = rows.filter((r) => r.device.startsWith('this console'))
    t.equal(own.length, 1, "the operator's own session is marked")
    t.equal(own[0]!.user, admin.username)
  })

  await t.test('filtering by client type shows only matching rows', async (t) => {
    await page.getByLabel('Client type').selectOption('mobile')
    await waitRows(page, (rows) => rows.length > 0 && rows.every((r) => r.client === 'Mobile'))
    const rows = await sessionRows(page)
    t.ok(rows.some((r) => r.id === aliceMobile.session_id))
    t.notOk(rows.some((r) => r.id === aliceWeb.session_id || r.id === bobBot.session_id))
    await page.getByLabel('Client type').selectOption('')
    await waitRows(page, (rows) => rows.some((r) => r.client === 'Telegram bot'))
  })

  await t.test('searching by username shows only that user', async (t) => {
    await page.getByLabel('Search sessions').fill(alice.username)
    await page.getByLabel('Search sessions').press('Enter')
    await waitRows(page, (rows) => rows.length > 0 && rows.every((r) => r.user === alice.username))
    const ids = (await sessionRows(page)).map((r) => r.id)
    t.ok(ids.includes(aliceWeb.session_id) && ids.includes(aliceMobile.session_id))
  })

  await t.test("revoking a session in the console ends that login's tokens at once", async (t) => {
    await page
      .getByRole('button', { name: `Revoke session ${aliceMobile.session_id} of ${alice.username}` })
      .click()
    await page.locator('#confirm-dialog').waitFor()
    await page.locator('#confirm-ok').click()
    await waitRows(page, (rows) => rows.some((r) => r.id === aliceMobile.session_id && r.state === 'Ended'))
    t.match(await page.locator('#notice').textContent(), /revoked/)

    const revoked = await h.request({
      method: 'GET',
      url: `${V1}/users/me/`,
      headers: h.bearer(aliceMobile.access),
    })
    t.equal(revoked.statusCode, 401)
    t.equal(revoked.json().code, 'token_revoked')
    const other = await h.request({
      method: 'GET',
      url: `${V1}/users/me/`,
      headers: h.bearer(aliceWeb.access),
    })
    t.equal(other.statusCode, 200, "the user's other session still works")
  })

  await t.test('an expired access token is refreshed with rotation, unnoticed by the operator', async (t) => {
    const before = await page.evaluate(() => sessionStorage.getItem('authjwt.console.refresh'))
    await page.evaluate(() => sessionStorage.setItem('authjwt.console.access', 'not-a-token'))
    await page.getByLabel('Search sessions').fill('')
    await page.getByLabel('Search sessions').press('Enter')
    await waitRows(page, (rows) => rows.some((r) => r.user === bob.username))
    const after = await page.evaluate(() => sessionStorage.getItem('authjwt.console.refresh'))
    t.ok(after && after !== before, 'the rotated refresh token is stored')
    t.notOk(await page.locator('#sessions-error').isVisible(), 'no error shown')
  })

  await t.test('screenshot of the sessions view', async (t) => {
    await page.mouse.move(0, 0)
    await page.locator('#notice').evaluate((n) => {
      ;(n as HTMLElement).hidden = true
    })
    await page.locator('#filter-search').blur()
    mkdirSync(dirname(SCREENSHOT), { recursive: true })
    await page.screenshot({ path: SCREENSHOT })
    t.ok(existsSync(SCREENSHOT))
  })

  await t.test('markup in data is shown as text and never runs', async (t) => {
    const hostile = '<img src=x onerror="window.__pwned=1">'
    const dave = await h.createUser({ username: 'dave' })
    const login = await h.login(dave.username, dave.password, { client_type: 'mobile', device_name: hostile })
    await page.getByLabel('Search sessions').fill('dave')
    await page.getByLabel('Search sessions').press('Enter')
    const rows = await waitRows(page, (rows) => rows.some((r) => r.id === login.session_id))
    t.equal(rows.find((r) => r.id === login.session_id)?.device, hostile)
    t.equal(await page.locator('#sessions-body img').count(), 0, 'no element was made from it')
    t.equal(await page.evaluate(() => (window as { __pwned?: number }).__pwned), undefined)
  })

  await t.test('deactivating a user in the Users view refuses their token', async (t) => {
    await page.getByRole('link', { name: 'Users' }).click()
    await page.locator('#users-view').waitFor()
    await page.getByLabel('Search users').fill(carol.username)
    await page.getByLabel('Search users').press('Enter')
    const row = page.locator(`#users-body tr[data-user-id="${carol.id}"]`)
    await row.waitFor()
    await page.getByRole('button', { name: `Deactivate ${carol.username}`, exact: true }).click()
    await page.locator('#confirm-ok').click()
    await page.getByRole('button', { name: `Activate ${carol.username}`, exact: true }).waitFor()
    t.equal(await row.locator('.badge').last().textContent(), 'Inactive')

    const res = await h.request({ method: 'GET', url: `${V1}/users/me/`, headers: h.bearer(carolWeb.access) })
    t.equal(res.statusCode, 401)
    t.match(res.json().code, /^(token_revoked|user_inactive)$/)
    const login = await h.request({
      method: 'POST',
      url: `${V1}/token/`,
      payload: { username: carol.username, password: carol.password },
    })
    t.equal(login.statusCode, 401, 'and they cannot sign in again')
  })

  await t.test('the Users view shows who has two-factor, and staff reset it', async (t) => {
    const erin = await h.createUser({ username: 'erin' })
    const erinToken = h.bearer((await h.login(erin.username, erin.password)).access)
    const { secret } = (
      await h.request({ method: 'POST', url: `${V1}/mfa/totp/setup/`, headers: erinToken })
    ).json()
    const on = await h.request({
      method: 'POST',
      url: `${V1}/mfa/totp/confirm/`,
      headers: erinToken,
      payload: { code: codeAt(secret) },
    })
    t.equal(on.statusCode, 200, 'erin turned two-factor on')
    await page.getByLabel('Search users').fill('erin')
    await page.getByLabel('Search users').press('Enter')
    const cell = page.locator(`#users-body tr[data-user-id="${erin.id}"] td.two-factor`)
    await cell.getByText('On').waitFor()
    await page.getByRole('button', { name: `Reset two-factor of ${erin.username}`, exact: true }).click()
    await page.locator('#confirm-ok').click()
    await page.locator('#notice').getByText(`Two-factor of ${erin.username} is off.`).waitFor()
    await cell.getByText('—').waitFor()
    const login = await h.request({
      method: 'POST',
      url: `${V1}/token/`,
      payload: { username: erin.username, password: erin.password },
    })
    t.equal(login.statusCode, 200, 'erin signs in with the password alone again')
  })

  await t.test('invalidating all tokens needs the typed word, then signs the console out', async (t) => {
    await page.getByRole('button', { name: 'Invalidate all tokens' }).click()
    const ok = page.locator('#confirm-ok')
    t.ok(await ok.isDisabled(), 'the button waits for the typed confirmation')
    await page.getByLabel('Type INVALIDATE to confirm').fill('invalidate')
    t.ok(await ok.isDisabled(), 'the word must match exactly')
    await page.getByLabel('Type INVALIDATE to confirm').fill('INVALIDATE')
    await ok.click()
    await page.locator('#login-view').waitFor()
    t.match(await page.locator('#notice').textContent(), /All tokens invalidated \(\d+ sessions? ended\)/)
    t.equal(await page.evaluate(() => sessionStorage.length), 0, 'the dead tokens are gone')

    const res = await h.request({ method: 'GET', url: `${V1}/users/me/`, headers: h.bearer(aliceWeb.access) })
    t.equal(res.statusCode, 401)
    t.equal(res.json().code, 'token_revoked')

    await signIn(page, admin.username, admin.password)
    await page.locator('#users-view').waitFor()
    await page.getByRole('link', { name: 'Sessions' }).click()
    await page.getByLabel('Search sessions').fill(alice.username)
    await page.getByLabel('Search sessions').press('Enter')
    const rows = await waitRows(page, (rows) => rows.some((r) => r.id === aliceWeb.session_id))
    t.ok(
      rows.every((r) => r.user !== alice.username || r.state === 'Ended'),
      "alice's sessions all show as ended",
    )
    t.pass('the operator signs in again and carries on')
  })

  await t.test('logging out revokes the console session', async (t) => {
    const access = await page.evaluate(() => sessionStorage.getItem('authjwt.console.access'))
    await page.getByRole('button', { name: 'Log out' }).click()
    await page.locator('#login-view').waitFor()
    const res = await h.request({ method: 'GET', url: `${V1}/users/me/`, headers: h.bearer(access ?? '') })
    t.equal(res.statusCode, 401)
  })

  t.same(problems, [], 'no script errors or policy violations in the page')
})

async function signIn(page: Page, username: string, password: string) {
  await page.getByLabel('Username or e-mail').fill(username)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
}

/** The login form's error once it says something (matching `expected` when given). */
async function alertText(page: Page, expected?: RegExp): Promise<string> {
  await page.waitForFunction((source) => {
    const node = document.getElementById('login-error')
    return node && !node.hidden && (!source || new RegExp(source).test(node.textContent ?? ''))
  }, expected?.source)
  return (await page.locator('#login-error').textContent()) ?? ''
}

function rowFor(page: Page, sessionId: number) {
  return page.locator(`#sessions-body tr[data-session-id="${sessionId}"]`)
}

interface Row {
  id: number
  user: string
  client: string
  device: string
  ip: string
  state: string
}

async function sessionRows(page: Page): Promise<Row[]> {
  return page.$$eval('#sessions-body tr[data-session-id]', (trs) =>
    trs.map((tr) => {
      const cells = [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')
      return {
        id: Number((tr as HTMLElement).dataset.sessionId),
        user: cells[0]!,
        client: cells[1]!,
        device: cells[2]!,
        ip: cells[3]!,
        state: cells[7]!,
      }
    }),
  )
}

/** Polls the table until `ready` holds (the console reloads asynchronously after each action). */
async function waitRows(page: Page, ready: (rows: Row[]) => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const rows = await sessionRows(page)
    if (ready(rows)) return rows
    if (Date.now() > deadline)
      throw new Error(`table never reached the expected state: ${JSON.stringify(rows)}`)
    await page.waitForTimeout(50)
  }
}
