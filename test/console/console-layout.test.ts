import { mkdirSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import t, { type Test } from 'tap'
import { makeApp, type TestApp } from '../helpers/backends.js'
import { launchChromium } from '../helpers/browser.js'

/**
 * What an operator sees on the first render of each console page, on a desktop and on a 420 px
 * phone: nothing wider than the screen, no empty banner, every header control on screen, every
 * filter label beside its input. Each page is saved as a screenshot under .tap/screenshots/ (a test
 * artifact, gitignored); `npm run screenshots` writes the desktop ones to docs/ for the README.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const SHOTS = resolve(ROOT, process.env.CONSOLE_SCREENSHOTS ?? join('.tap', 'screenshots'))
const FOR_README = process.env.CONSOLE_SCREENSHOTS !== undefined
const PAGES = ['sessions', 'users', 'audit', 'webhooks'] as const
const WIDTHS = [1280, 420]

/** A small deployment: users of two tenants, sessions on each client type, an event log, an endpoint. */
async function seed(h: TestApp) {
  const admin = await h.createUser({
    username: 'olga.ops',
    firstName: 'Olga',
    lastName: 'Operator',
    isStaff: true,
    isSuperuser: true,
  })
  const people = [
    { username: 'alice', firstName: 'Alice', lastName: 'Anders', clientName: 'Acme' },
    { username: 'bob', firstName: 'Bob', lastName: 'Brown', clientName: 'Acme' },
    { username: 'carol', firstName: 'Carol', lastName: 'Chen', clientName: 'Globex' },
    { username: 'dmitri', firstName: 'Dmitri', lastName: 'Volkov', clientName: 'Globex' },
  ]
  const users = []
  for (const p of people) users.push(await h.createUser(p))
  const logins: [number, string, string, string, string][] = [
    [0, 'website', 'Alice laptop', '203.0.113.24', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/133.0'],
    [0, 'mobile', 'Alice phone', '198.51.100.7', 'AcmeApp/4.2 (iPhone; iOS 18.1)'],
    [1, 'mobile', 'Pixel 8', '198.51.100.81', 'AcmeApp/4.2 (Linux; Android 15; Pixel 8)'],
    [1, 'telegram_bot', 'Support bot', '203.0.113.5', 'python-telegram-bot/21.6'],
    [
      2,
      'website',
      'Firefox on Ubuntu',
      '192.0.2.44',
      'Mozilla/5.0 (X11; Ubuntu; Linux x86_64) Firefox/133.0',
    ],
    [3, 'website', 'Office desktop', '192.0.2.90', 'Mozilla/5.0 (Macintosh; Mac OS X 14_6) Safari/605.1'],
  ]
  for (const [i, client_type, device_name, ip, agent] of logins) {
    const u = users[i]!
    const res = await h.request({
      method: 'POST',
      url: '/api/v1/auth/token/',
      headers: { 'user-agent': agent, 'x-forwarded-for': ip },
      payload: { username: u.username, password: u.password, client_type, device_name },
    })
    if (res.statusCode !== 200) throw new Error(`login failed: ${res.body}`)
  }
  await h.request({
    method: 'POST',
    url: '/api/v1/auth/token/',
    headers: { 'user-agent': 'curl/8.5.0', 'x-forwarded-for': '203.0.113.200' },
    payload: { username: 'carol', password: 'not-her-password' },
  })
  const own = await h.request({
    method: 'POST',
    url: '/api/v1/auth/token/',
    headers: {
      'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0',
      'x-forwarded-for': '192.0.2.10',
    },
    payload: {
      username: admin.username,
      password: admin.password,
      client_type: 'website',
      device_name: 'Admin console',
    },
  })
  const auth = h.bearer(own.json().access)
  const hook = await h.request({
    method: 'POST',
    url: '/api/v1/auth/admin/webhooks/',
    headers: auth,
    payload: {
      url: 'https://siem.example.com/hooks/auth',
      description: 'SIEM feed',
      event_types: ['login.failed', 'session.revoked', 'suspicious.failed_logins'],
    },
  })
  if (hook.statusCode !== 201) throw new Error(`webhook: ${hook.body}`)
  await h.app.audit.flush()
  return admin
}

async function signIn(page: Page, username: string, password: string) {
  await page.getByLabel('Username or e-mail').fill(username)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.locator('#sessions-view').waitFor()
}

/** What is wrong with the page as rendered, in words: an empty list means nothing. */
function layoutProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const problems: string[] = []
    const width = document.documentElement.clientWidth
    if (document.documentElement.scrollWidth > width) {
      const wide = [...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > width + 0.5)
        .map((e) => e.id || e.tagName)
        .slice(0, 3)
      problems.push(
        `the page is ${document.documentElement.scrollWidth} px wide on a ${width} px screen (${wide.join(', ')})`,
      )
    }
    const visible = (e: Element) => {
      const box = e.getBoundingClientRect()
      return box.width > 0 && box.height > 0 && getComputedStyle(e).visibility !== 'hidden'
    }
    // `hidden` must hide whatever class the element also has.
    for (const e of document.querySelectorAll('[hidden]')) {
      if (getComputedStyle(e).display !== 'none') problems.push(`#${e.id || e.className} is hidden but shown`)
    }
    // A banner, message or notice on screen says something.
    for (const e of document.querySelectorAll('[role="status"], [role="alert"], .notice, .error')) {
      if (!visible(e)) continue
      const empty = [...e.querySelectorAll('strong, code')].some((part) => !part.textContent?.trim())
      if (!e.textContent?.trim() || empty) problems.push(`#${e.id} is shown with nothing (or a blank) in it`)
    }
    // Every control of the header is whole and on screen.
    for (const e of document.querySelectorAll('.topbar a, .topbar button, .topbar .brand, .topbar .whoami')) {
      if (!visible(e)) continue
      const box = e.getBoundingClientRect()
      if (box.left < 0 || box.right > width + 0.5) {
        problems.push(`header: "${e.textContent?.trim()}" is off screen (${box.left}-${box.right})`)
      }
      if (e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0) {
        problems.push(`header: "${e.textContent?.trim()}" is cut`)
      }
    }
    const bar = document.querySelector('.topbar')!
    if (bar.scrollWidth > bar.clientWidth) problems.push('header: its content is wider than the header')
    // Every filter label sits on the line of its input, before it.
    for (const label of document.querySelectorAll<HTMLLabelElement>('.filters label[for]:not(.sr-only)')) {
      const input = document.getElementById(label.htmlFor)
      if (!input || !visible(label) || !visible(input)) continue
      const l = label.getBoundingClientRect()
      const i = input.getBoundingClientRect()
      const sameLine = l.top < i.bottom && i.top < l.bottom
      if (!sameLine || l.left > i.left) {
        problems.push(`filter: the label "${label.textContent}" is not beside its input`)
      }
    }
    return problems
  })
}

async function checkPages(t: Test, browser: Browser, base: string, width: number, admin: Login) {
  const context = await browser.newContext({ viewport: { width, height: width > 600 ? 800 : 900 } })
  t.teardown(() => context.close())
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (err) => errors.push(err.message))
  await page.goto(`${base}/admin/`)
  await page.getByLabel('Username or e-mail').waitFor()
  t.same(await layoutProblems(page), [], `${width} px: the sign-in page`)
  await shoot(page, `login-${width}`)
  await signIn(page, admin.username, admin.password)
  for (const name of PAGES) {
    // A first visit: a fresh load at the page's address, as a bookmark or a shared link opens it.
    await page.goto(`${base}/admin/#${name}`)
    await page.reload()
    await page.locator(`#${name}-view`).waitFor()
    await page.waitForFunction(
      (body) =>
        document.querySelector(`#${body} tr`) && !document.querySelector(`#${body}[aria-busy="true"]`),
      `${name}-body`,
    )
    await page.mouse.move(0, 0)
    t.same(await layoutProblems(page), [], `${width} px: the ${name} page`)
    await shoot(page, width === WIDTHS[0] ? name : `${name}-${width}`)
  }
  t.same(errors, [], 'no script errors')
}

interface Login {
  username: string
  password: string
}

async function shoot(page: Page, name: string) {
  if (FOR_README && name.includes('-')) return
  mkdirSync(SHOTS, { recursive: true })
  await page.screenshot({ path: join(SHOTS, `console-${name}.png`) })
}

t.test('each console page renders whole on a desktop and on a 420 px screen', async (t) => {
  const browser = await launchChromium(t)
  if (!browser) return
  const h = await makeApp(t, 'embedded', {
    trustProxy: 1,
    webhookRetrySeconds: 3600,
    keyEncryptionKey: 'console-layout-key-encryption-key-0123456789',
  })
  await h.app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`
  const admin = await seed(h)
  for (const width of WIDTHS) {
    await t.test(`${width} px`, (t) => checkPages(t, browser, base, width, admin))
  }
  t.comment(`screenshots in ${SHOTS}`)
})
