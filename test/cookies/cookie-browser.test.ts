import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import ts from 'typescript'
import t from 'tap'
import { launchChromium } from '../helpers/browser.js'
import { makeApp } from '../helpers/backends.js'

/**
 * The typed client's cookie mode in a real browser (Chromium): the app's page on one origin, the
 * service on another of the same site (127.0.0.1, two ports), as app.example.com and
 * auth.example.com would be; and a page of another site (localhost) that tries to use the cookie.
 */
t.test(
  'cookie mode in Chromium: the page never sees the refresh token; another site cannot use it',
  async (t) => {
    const browser = await launchChromium(t)
    if (!browser) return
    const pages = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end('<p>app</p>'),
    )
    await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve))
    t.teardown(() => pages.close())
    const pagePort = (pages.address() as AddressInfo).port
    const appOrigin = `http://127.0.0.1:${pagePort}`

    const h = await makeApp(t, 'embedded', { corsOrigins: [appOrigin] })
    await h.app.listen({ port: 0, host: '127.0.0.1' })
    const base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`
    const user = await h.createUser()
    // The client imports types only: TypeScript's transpiler makes it a script for the page.
    const source = await readFile('src/client/index.ts', 'utf8')
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
    })
    const client = `${outputText.replace(/^export /gm, '')}\nwindow.authjwt = { AuthClient, ApiRequestError }`

    const page = await browser.newPage()
    const open = async (origin: string) => {
      await page.goto(`${origin}/`)
      await page.addScriptTag({ content: client })
    }
    await open(appOrigin)
    const seen = await page.evaluate(
      async ({ base, username, password }) => {
        const { AuthClient } = (window as unknown as { authjwt: typeof import('../../src/client/index.js') })
          .authjwt
        const c = new AuthClient({ baseUrl: base, transport: 'cookie' })
        const login = await c.login(username, password)
        const me = await c.me()
        return {
          refresh: login.refresh ?? null,
          held: Object.keys(c.current ?? {}),
          cookies: document.cookie,
          me: me.username,
        }
      },
      { base, username: user.username, password: user.password },
    )
    t.same(seen.refresh, null, 'no refresh token in the answer')
    t.same(seen.held, ['access'])
    t.notMatch(seen.cookies, /authjwt_refresh/, 'the page cannot read the refresh cookie')
    t.match(seen.cookies, /authjwt_csrf=/, 'it reads the CSRF cookie')
    t.equal(seen.me, user.username)
    const sid = (await h.app.repos.sessions.listForUser(user.id, false))[0]!
    t.ok(sid, 'the session is open')

    // A reload: nothing in memory; the cookie gives a new access token (and rotates).
    await open(appOrigin)
    const reloaded = await page.evaluate(async (base) => {
      const { AuthClient } = (window as unknown as { authjwt: typeof import('../../src/client/index.js') })
        .authjwt
      const c = new AuthClient({ baseUrl: base, transport: 'cookie' })
      await c.refresh()
      return (await c.me()).username
    }, base)
    t.equal(reloaded, user.username, 'refresh() after a reload, by the cookie')
    const rotated = await h.app.repos.sessions.findById(sid.id)
    t.not(rotated?.refreshJti, sid.refreshJti, 'the refresh rotated the token in the cookie')

    // Another site: its requests either fail CORS or arrive without the cookie; nothing changes.
    await open(`http://localhost:${pagePort}`)
    const evil = await page.evaluate(async (base) => {
      const tries = [
        { credentials: 'include' as const, headers: { 'content-type': 'application/json' }, body: '{}' },
        { credentials: 'include' as const, mode: 'no-cors' as const, body: 'x' },
      ]
      const out: string[] = []
      for (const path of ['/api/v1/auth/token/refresh/', '/api/v1/auth/logout/']) {
        for (const init of tries) {
          out.push(
            await fetch(`${base}${path}`, { method: 'POST', ...init }).then(
              (r) => String(r.status),
              (e) => e.name,
            ),
          )
        }
      }
      return out
    }, base)
    t.ok(
      evil.every((r) => r === 'TypeError' || r === '0'),
      `another site reads nothing (${evil.join(', ')})`,
    )
    const after = await h.app.repos.sessions.findById(sid.id)
    t.match(after, { isActive: true, refreshJti: rotated?.refreshJti }, 'and changed nothing')

    await open(appOrigin)
    const out = await page.evaluate(async (base) => {
      const { AuthClient } = (window as unknown as { authjwt: typeof import('../../src/client/index.js') })
        .authjwt
      const logout = await new AuthClient({ baseUrl: base, transport: 'cookie' }).logout()
      const again = await new AuthClient({ baseUrl: base, transport: 'cookie' }).refresh().then(
        () => 200,
        (e: { status: number }) => e.status,
      )
      return { message: logout?.message, cookies: document.cookie, again }
    }, base)
    t.equal(out.message, 'Logout successful', 'logout after a reload, by the cookie')
    t.notMatch(out.cookies, /authjwt_csrf/, 'logout cleared the CSRF cookie')
    t.equal(out.again, 400, 'and there is no refresh cookie left to use')
    t.equal((await h.app.repos.sessions.findById(sid.id))?.isActive, false, 'the session is revoked')
  },
)
