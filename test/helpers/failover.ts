import type { Test } from 'tap'
import { http, type ServerProcess } from './server-process.js'

/** Requests the failover tests (Sentinel, Cluster) make against a server process. */
export interface Tokens {
  access: string
  refresh: string
}

export async function login(
  server: ServerProcess,
  who: { username: string; password: string },
): Promise<Tokens> {
  const res = await http(server.base, 'POST', '/api/v1/auth/token/', { body: who })
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.text}`)
  return res.body as unknown as Tokens
}

/** The status of a protected route for this access token. */
export const testAuth = async (server: ServerProcess, access: string) =>
  (await http(server.base, 'GET', '/api/test-auth/', { headers: { authorization: `Bearer ${access}` } }))
    .status

export const logout = async (server: ServerProcess, tokens: Tokens) =>
  (await http(server.base, 'POST', '/api/v1/auth/logout/', { body: { refresh: tokens.refresh } })).status

/** One round of protected requests during a failover: each token's status, and when. */
export interface Answer {
  at: number
  revoked: number
  live: number
  /** The token whose logout the promoted replica never received (401 until it exists). */
  lost: number
}

/**
 * Protected requests every 20 ms, from now until `stop`: a revoked token, a live one, and the
 * token `lost()` names once the test has made it.
 */
export function traffic(
  server: ServerProcess,
  revoked: string,
  live: string,
  lost: () => string | undefined,
) {
  const answers: Answer[] = []
  let running = true
  const done = (async () => {
    while (running) {
      const access = lost()
      const [r, l, x] = await Promise.all([
        testAuth(server, revoked),
        testAuth(server, live),
        access ? testAuth(server, access) : 401,
      ])
      answers.push({ at: Date.now(), revoked: r, live: l, lost: x })
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })()
  return {
    answers,
    /** Waits until the live token answers 200 after `since` (30 s at most), a little longer, then stops. */
    async stopWhenServed(since: number): Promise<void> {
      const deadline = Date.now() + 30_000
      while (Date.now() < deadline) {
        const last = answers.at(-1)
        if (last && last.at > since && last.live === 200) break
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      await new Promise((resolve) => setTimeout(resolve, 500))
      running = false
      await done
    },
  }
}

/**
 * What a failover may cost, asserted on the answers: revoked tokens only ever 401 or 503, the
 * live one 503 for a while and then 200 again, within 20 s of the kill at `killedAt`.
 */
export function assertFailover(t: Test, answers: Answer[], killedAt: number): void {
  const after = answers.filter((a) => a.at > killedAt)
  t.ok(after.length > 0, 'answers during the failover')
  const not401or503 = (statuses: number[]) => [...new Set(statuses)].filter((s) => s !== 401 && s !== 503)
  t.same(not401or503(answers.map((a) => a.revoked)), [], 'the revoked token: only 401 or 503, never 200')
  t.same(
    not401or503(answers.map((a) => a.lost)),
    [],
    'the token whose logout the new master never heard: only 401 or 503, never 200',
  )
  const refused = after.filter((a) => a.live !== 200)
  t.same(
    [...new Set(refused.map((a) => a.live))].filter((s) => s !== 503),
    [],
    'the live token: 503 meanwhile',
  )
  t.equal(after.at(-1)?.live, 200, 'the live token works again')
  t.equal(after.at(-1)?.revoked, 401, 'the revoked token is refused again')
  const outage = refused.length ? refused.at(-1)!.at - killedAt : 0
  t.comment(`503 for ${outage} ms after the master was killed (${refused.length} of ${after.length} answers)`)
  t.ok(outage < 20_000, `service resumed within 20 s of the kill (${outage} ms)`)
}
