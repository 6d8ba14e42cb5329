import t from 'tap'
import { eachBackend, makeApp } from '../helpers/backends.js'
import { startInbox } from '../helpers/smtp.js'

t.setTimeout(240_000)

const LURE = 'Your account is locked, restore it at https://restore.evil.example/now within 24h. '
// 16 KB of the lure behind a real browser's header, and behind nothing a browser says.
const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 '
const CRAFTED = [
  [`${CHROME}${LURE.repeat(200)}`, 'Chrome on Windows'],
  [LURE.repeat(200), 'an unknown browser'],
] as const

t.test('a crafted User-Agent reaches the failed-logins mail only as a browser and a system', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const inbox = await startInbox(t)
    const app = await makeApp(t, backend, {
      auditFlushMs: 20,
      failedLoginAlertThreshold: 3,
      suspiciousActivityMail: true,
      mailEnabled: true,
      smtpUrl: inbox.url,
      publicUrl: 'https://auth.example.com',
      trustProxy: 1,
    })
    for (const [agent, summary] of CRAFTED) {
      t.ok(agent.length > 16_000, `a header of ${agent.length} characters`)
      const user = await app.createUser()
      for (let i = 0; i < 3; i++) {
        const res = await app.request({
          method: 'POST',
          url: '/api/v1/auth/token/',
          payload: { username: user.username, password: 'not-it' },
          // The client's address is the client's text too, behind a proxy that passes it on.
          headers: { 'user-agent': agent, 'x-forwarded-for': 'evil.example/x' },
        })
        t.equal(res.statusCode, 401)
      }
      const mail = await inbox.next(`${user.username}@example.com`)
      t.match(mail.subject, /many failed login attempts/)
      for (const [part, body] of [
        ['text', mail.text ?? ''],
        ['html', String(mail.html)],
      ]) {
        // The header is refused as an address: the proxy's own (the peer, 127.0.0.1 here) stands in.
        t.match(body, `from 127.0.0.1 (${summary})`, `${part}: "${summary}", the address refused`)
        t.notMatch(body, /evil\.example|https?:|locked|24h/i, `${part}: nothing of the header`)
        t.ok(body.length < 1_000, `${part}: a short mail (${body.length} characters)`)
      }
    }
  })
})
