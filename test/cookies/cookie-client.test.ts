import t from 'tap'
import { ApiRequestError, AuthClient, type Tokens } from '../../src/client/index.js'
import { eachBackend, makeApp, type TestApp } from '../helpers/backends.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Kept {
  value: string
  path: string
  httpOnly: boolean
}

/**
 * fetch as a page of PUBLIC_URL's origin sees it, answered by the app in-process: the browser adds
 * Origin, keeps the cookies it is given (by name and Path, dropping those with Max-Age=0) and sends
 * those whose Path covers the URL; scripts see only the ones without HttpOnly (document.cookie).
 */
function browserOf(h: TestApp) {
  const jar = new Map<string, Kept>()
  const origin = new URL(h.config.publicUrl).origin
  const fetch: typeof globalThis.fetch = async (input, init = {}) => {
    const url = new URL(String(input))
    const headers: Record<string, string> = { ...(init.headers as Record<string, string>), origin }
    if (init.credentials === 'include') {
      const sent = [...jar].filter(([, c]) => url.pathname.startsWith(c.path))
      if (sent.length) headers.cookie = sent.map(([name, c]) => `${name}=${c.value}`).join('; ')
    }
    const res = await h.request({
      method: init.method as 'POST',
      url: url.pathname + url.search,
      headers,
      payload: init.body as string | undefined,
    })
    if (init.credentials === 'include') {
      for (const c of res.cookies) {
        if (c.maxAge === 0) jar.delete(c.name)
        else jar.set(c.name, { value: c.value, path: c.path ?? '/', httpOnly: c.httpOnly === true })
      }
    }
    return new Response(res.body, { status: res.statusCode, headers: res.headers as Record<string, string> })
  }
  const documentCookie = () =>
    [...jar]
      .filter(([, c]) => !c.httpOnly)
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ')
  return { jar, fetch, documentCookie }
}

t.test("the typed client in cookie mode: the refresh token never reaches the page's scripts", async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend, { accessTokenLifetime: 1 })
    const user = await h.createUser()
    const browser = browserOf(h)
    const stored: (Tokens | null)[] = []
    const options = {
      baseUrl: h.config.publicUrl,
      transport: 'cookie' as const,
      fetch: browser.fetch,
      readCookies: browser.documentCookie,
    }
    const client = new AuthClient({ ...options, onTokens: (tokens) => stored.push(tokens) })
    const login = await client.login(user.username, user.password)
    t.notOk(login.refresh, 'no refresh token in the answer')
    t.same(Object.keys(client.current ?? {}), ['access'], 'the client holds the access token only')
    t.notMatch(browser.documentCookie(), /authjwt_refresh/, 'scripts cannot see the refresh cookie')
    t.match(browser.documentCookie(), /authjwt_csrf=/, 'they see the CSRF cookie')
    t.equal((await client.me()).username, user.username)

    // The access token expires: the next request refreshes through the cookie and retries.
    const cookieBefore = browser.jar.get('authjwt_refresh')?.value
    await sleep(2100)
    t.equal((await client.me()).username, user.username, 'a request after expiry succeeds')
    t.not(browser.jar.get('authjwt_refresh')?.value, cookieBefore, 'rotation replaced the cookie')

    // A reload: a new client with nothing in memory gets an access token from the cookie.
    const reloaded = new AuthClient(options)
    t.ok((await reloaded.refresh()).access, 'refresh() after a reload')
    t.equal((await reloaded.me()).username, user.username)
    t.same(await reloaded.logout(), {
      message: 'Logout successful',
      detail: 'Session revoked and tokens blacklisted',
    })
    t.equal(browser.jar.size, 0, 'logout cleared both cookies')
    const after = await new AuthClient(options).refresh().catch((err: unknown) => err)
    t.ok(after instanceof ApiRequestError && after.status === 400, 'no cookie left to refresh with')
    t.ok(
      stored.every((tokens) => tokens === null || tokens.refresh === undefined),
      'onTokens never saw one',
    )
  })
})
