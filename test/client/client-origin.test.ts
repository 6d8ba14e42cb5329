import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { ApiRequestError, AuthClient } from '../../src/client/index.js'

/**
 * The client talks to its baseUrl's origin and nowhere else: it follows no redirect (a 307 would
 * re-send a login's password or a refresh token in the body to wherever it points), and a path
 * that resolves to another origin is refused before anything is sent.
 */

interface Seen {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: string
}

/** A local HTTP server recording what reaches it; `answer` decides the response. */
async function server(
  t: Test,
  answer: (seen: Seen) => { status: number; headers?: Record<string, string>; body?: unknown },
) {
  const seen: Seen[] = []
  const http = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const request = {
        method: req.method!,
        url: req.url!,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      }
      seen.push(request)
      const { status, headers, body } = answer(request)
      res.writeHead(status, { 'content-type': 'application/json', ...headers })
      res.end(body === undefined ? '' : JSON.stringify(body))
    })
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => http.close(() => resolve())))
  return { base: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, seen }
}

const TOKENS = { access: 'the-access-token', refresh: 'the-refresh-token' }

t.test('a redirect from the service is not followed: nothing reaches the other origin', async (t) => {
  const other = await server(t, () => ({ status: 200, body: { access: 'a', refresh: 'r', username: 'u' } }))
  for (const status of [301, 302, 303, 307, 308]) {
    const ours = await server(t, (seen) => ({ status, headers: { location: `${other.base}${seen.url}` } }))
    const client = new AuthClient({ baseUrl: ours.base, tokens: TOKENS })
    const calls = [
      ['login', () => client.login('alice', 'alice-password')],
      ['refresh', () => client.refresh()],
      ['me', () => client.me()],
      ['logout', () => client.logout()],
    ] as const
    for (const [name, call] of calls) {
      const err = await call().then(
        () => undefined,
        (e: unknown) => e,
      )
      t.ok(
        err instanceof ApiRequestError && err.status === status,
        `${status} on ${name}: an error with that status`,
      )
    }
    t.equal(ours.seen.length, 4, `${status}: each call reached the service once`)
  }
  t.same(other.seen, [], 'no password, refresh token or access token reached the other origin')
})

t.test('a path that leaves baseUrl’s origin is refused before anything is sent', async (t) => {
  const other = await server(t, () => ({ status: 200, body: {} }))
  const ours = await server(t, () => ({ status: 200, body: { ok: true } }))
  const client = new AuthClient({ baseUrl: ours.base, tokens: TOKENS })
  const host = other.base.slice('http://'.length)
  for (const path of [
    `//${host}/x`,
    `${other.base}/x`,
    `/\\${host}/x`,
    `\\\\${host}/x`,
    `https://${host}/x`,
  ]) {
    await t.rejects(client.request('GET', path), { message: /leaves/ }, `${JSON.stringify(path)}: refused`)
  }
  t.same(other.seen, [], 'the Bearer token never reached the other host')
  t.same(ours.seen, [], 'and nothing was sent at all')

  t.same(await client.request('GET', '/api/v1/auth/users/me/'), { ok: true }, 'a path on the service works')
  t.same(await client.request('GET', `${ours.base}/x`), { ok: true }, 'as does a full URL on its origin')
  t.equal(ours.seen[0]?.headers.authorization, `Bearer ${TOKENS.access}`)
})
