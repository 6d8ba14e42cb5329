import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Page } from 'playwright-core'
import { Webhook } from 'standardwebhooks'
import t, { type Test } from 'tap'
import { makeApp } from '../helpers/backends.js'
import { launchChromium } from '../helpers/browser.js'

/**
 * The console's Webhooks page in a real Chromium: a superuser registers an endpoint (its secret
 * shown once), sees deliveries and their attempts, replays one, disables, enables and deletes;
 * staff who are not superusers never see the page. What the page did is checked through the API
 * and at the receiver.
 */
const HOOKS = '/api/v1/auth/admin/webhooks'

async function receiver(t: Test) {
  const requests: { headers: Record<string, string>; body: string }[] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]))
      requests.push({ headers, body: Buffer.concat(chunks).toString('utf8') })
      res.writeHead(200, { 'content-type': 'text/plain' }).end('thanks <b>operator</b>')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, requests }
}

async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = probe()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

async function signIn(page: Page, username: string, password: string) {
  await page.getByLabel('Username or e-mail').fill(username)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.locator('#sessions-view').waitFor()
}

t.test('a superuser manages webhooks in the console', async (t) => {
  const browser = await launchChromium(t)
  if (!browser) return
  const h = await makeApp(t, 'embedded', {
    webhooksAllowPrivate: true,
    webhookRetrySeconds: 1,
    auditFlushMs: 20,
    keyEncryptionKey: 'console-webhooks-key-encryption-key-0123456789',
  })
  await h.app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`
  const hook = await receiver(t)
  const admin = await h.createUser({ username: 'sam.super', isStaff: true, isSuperuser: true })
  const staff = await h.createUser({ username: 'stan.staff', isStaff: true })
  const auth = h.bearer((await h.login(admin.username, admin.password)).access)
  const alice = await h.createUser({ username: 'alice' })

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } })
  const page = await context.newPage()
  const problems: string[] = []
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/status of (400|401)/.test(msg.text()))
      problems.push(`console: ${msg.text()}`)
  })

  await page.goto(`${base}/admin/`)
  await signIn(page, admin.username, admin.password)
  await page.getByRole('link', { name: 'Webhooks' }).click()
  await page.locator('#webhooks-view').waitFor()

  await t.test('a refused URL is explained', async (t) => {
    await page.getByLabel('URL').fill('ftp://files.example.com/')
    await page.getByRole('button', { name: 'Register endpoint' }).click()
    await page.locator('#webhooks-error:not([hidden])').waitFor()
    t.match(await page.locator('#webhooks-error').textContent(), /url: Only http and https URLs are allowed/)
  })

  let secret = ''
  await t.test('registering shows the secret once', async (t) => {
    await page.getByLabel('URL').fill(hook.url)
    await page.getByLabel('Description').fill('SIEM feed')
    await page.getByLabel('Event types').selectOption(['session.revoked', 'login.succeeded'])
    await page.getByRole('button', { name: 'Register endpoint' }).click()
    await page.locator('#webhook-secret:not([hidden])').waitFor()
    secret = (await page.locator('#webhook-secret-value').textContent()) ?? ''
    t.match(secret, /^whsec_/, 'the secret is shown')
    const row = page.locator('#webhooks-body tr[data-webhook-id]')
    await row.waitFor()
    t.match(await row.textContent(), /SIEM feed/)
    t.match(await row.textContent(), /session\.revoked/)
    const listed = await h.request({ method: 'GET', url: `${HOOKS}/`, headers: auth })
    t.equal(listed.json().results[0].url, hook.url, 'registered through the API')
    await page.getByRole('button', { name: 'Done' }).click()
    t.equal(await page.locator('#webhook-secret-value').textContent(), '', 'and forgotten by the page')
  })

  await t.test('deliveries, their attempts, and a replay', async (t) => {
    h.app.audit.record({ type: 'session.revoked', userId: alice.id, details: { by: 'console test' } })
    await h.app.audit.flush()
    const first = await until('the delivery', () => hook.requests[0])
    t.doesNotThrow(
      () => new Webhook(secret).verify(first.body, first.headers),
      'signed with the shown secret',
    )
    await h.app.webhooks.deliverer.idle()

    await page.getByRole('button', { name: /Show deliveries of endpoint/ }).click()
    const delivery = page.locator('#deliveries-body tr[data-delivery-id]').first()
    await delivery.waitFor()
    t.match(await delivery.textContent(), /session\.revoked/)
    t.match(await delivery.textContent(), /delivered/)
    t.match(await delivery.textContent(), first.headers['webhook-id']!, 'the webhook-id is shown')

    await delivery.getByRole('button', { name: /Attempts of delivery/ }).click()
    const attempts = page.locator('#deliveries-body tr.attempts-row')
    await attempts.waitFor()
    const text = (await attempts.textContent()) ?? ''
    t.match(text, /200/)
    t.match(text, /\d+ ms/, 'with its latency')
    t.match(text, 'thanks <b>operator</b>', "the receiver's answer, as text, never as markup")
    t.equal(await attempts.locator('b').count(), 0)

    await delivery.getByRole('button', { name: /Replay delivery/ }).click()
    await page.locator('#notice:not([hidden])').waitFor()
    t.match(await page.locator('#notice').textContent(), /replayed/)
    const again = await until('the replay', () => hook.requests[1])
    t.equal(again.headers['webhook-id'], first.headers['webhook-id'], 'the same message again')
    await h.app.webhooks.deliverer.idle()
    await page.getByRole('button', { name: 'Refresh' }).click()
    await page.waitForFunction(
      () => document.querySelectorAll('#deliveries-body tr[data-delivery-id]').length === 2,
    )
    t.pass('the replay is listed as its own delivery')
  })

  await t.test('disable, enable, delete', async (t) => {
    const id = (await h.request({ method: 'GET', url: `${HOOKS}/`, headers: auth })).json().results[0].id
    await page.getByRole('button', { name: `Disable endpoint ${id}` }).click()
    await page.getByRole('button', { name: `Enable endpoint ${id}` }).waitFor()
    let shown = await h.request({ method: 'GET', url: `${HOOKS}/${id}/`, headers: auth })
    t.equal(shown.json().is_active, false, 'disabled')
    await page.getByRole('button', { name: `Enable endpoint ${id}` }).click()
    await page.getByRole('button', { name: `Disable endpoint ${id}` }).waitFor()
    shown = await h.request({ method: 'GET', url: `${HOOKS}/${id}/`, headers: auth })
    t.equal(shown.json().is_active, true, 'enabled again')

    await page.getByRole('button', { name: `Delete endpoint ${id}` }).click()
    await page.locator('#confirm-dialog').getByRole('button', { name: 'Delete endpoint' }).click()
    await page.locator('#webhooks-body tr.empty').waitFor()
    shown = await h.request({ method: 'GET', url: `${HOOKS}/${id}/`, headers: auth })
    t.equal(shown.statusCode, 404, 'deleted')
    t.notOk(await page.locator('#deliveries-panel').isVisible(), 'its deliveries are no longer shown')
  })

  await t.test('staff who are not superusers do not see the page', async (t) => {
    await page.getByRole('button', { name: 'Log out' }).click()
    await page.locator('#login-view').waitFor()
    await signIn(page, staff.username, staff.password)
    t.notOk(await page.getByRole('link', { name: 'Webhooks' }).isVisible(), 'no Webhooks tab')
    await page.goto(`${base}/admin/#webhooks`)
    await page.locator('#sessions-view').waitFor()
    t.notOk(await page.locator('#webhooks-view').isVisible(), 'the address alone does not open it')
  })

  t.same(problems, [], 'no script errors or policy violations in the page')
})
