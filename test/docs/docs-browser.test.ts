import type { AddressInfo } from 'node:net'
import t from 'tap'
import { makeApp } from '../helpers/backends.js'
import { launchChromium } from '../helpers/browser.js'

/** Swagger UI and ReDoc render under their Content-Security-Policy, with nothing blocked. */
t.test('the documentation pages render in a real browser under their policy', async (t) => {
  const browser = await launchChromium(t)
  if (!browser) return
  const h = await makeApp(t, 'embedded')
  await h.app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`

  for (const [url, heading] of [
    ['/api/v1/schema/swagger-ui/', '.swagger-ui .info .title'],
    ['/api/v1/schema/redoc/', 'h1'],
  ] as const) {
    const page = await browser.newPage()
    const blocked: string[] = []
    page.on('console', (msg) => {
      // ReDoc's footer logo comes from its CDN: blocked on purpose, and the page drops it.
      if (/Content Security Policy|Refused to/i.test(msg.text()) && !msg.text().includes('cdn.redoc.ly')) {
        blocked.push(msg.text())
      }
    })
    page.on('pageerror', (err) => blocked.push(`page error: ${err.message}`))
    await page.goto(`${base}${url}`)
    const title = page.locator(heading).first()
    await title.waitFor({ timeout: 30_000 })
    t.match(await title.textContent(), 'Auth service API', `${url} shows the document`)
    t.same(blocked, [], `${url}: nothing refused by the policy`)
    await page.close()
  }
})
