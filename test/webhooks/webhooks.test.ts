import http from 'node:http'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { Webhook } from 'standardwebhooks'
import t, { type Test } from 'tap'
import type { Config } from '../../src/config.js'
import { backoffMs } from '../../src/lib/backoff.js'
import { attemptsForADay } from '../../src/webhooks/deliverer.js'
import { sealSecret } from '../../src/webhooks/secrets.js'
import { postWebhook } from '../../src/webhooks/send.js'
import { newSecret, signedHeaders } from '../../src/webhooks/signature.js'
import { guardedLookup, isBlockedAddress, refusedTarget } from '../../src/webhooks/target-guard.js'
import { eachBackend, makeApp, type TestApp } from '../helpers/backends.js'

t.setTimeout(240_000)

const V1 = '/api/v1/auth'
const HOOKS = `${V1}/admin/webhooks`
const KEK = 'webhook-test-key-encryption-key-0123456789abcdef'

// Tests run the receiver on 127.0.0.1, which production refuses: allowed here, and refused by
// default in the SSRF test. Retries start at a second so outages last seconds, not minutes.
const LOCAL: Partial<Config> = {
  webhooksAllowPrivate: true,
  webhookRetrySeconds: 1,
  auditFlushMs: 20,
  keyEncryptionKey: KEK,
}

interface Received {
  headers: Record<string, string>
  body: string
  json: {
    type: string
    timestamp: string
    data: Record<string, unknown> & { details: Record<string, unknown> }
  }
  status: number
}

/** A webhook receiver on 127.0.0.1: answers with `handler`'s status, keeps every request. */
async function startReceiver(t: Test, port = 0) {
  const requests: Received[] = []
  let handler: (r: Received) => number | Promise<number> = () => 200
  let arrived: (() => void)[] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const headers = Object.fromEntries(
        Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)]),
      )
      const r: Received = { headers, body, json: JSON.parse(body), status: 0 }
      requests.push(r)
      for (const wake of arrived) wake()
      arrived = []
      r.status = await handler(r)
      res.writeHead(r.status, { 'content-type': 'text/plain' }).end(`answer ${r.status} from the receiver`)
    })
  })
  const listen = (p: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject)
      server.listen(p, '127.0.0.1', () => resolve((server.address() as AddressInfo).port))
    })
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  const bound = await listen(port)
  t.teardown(() => (server.listening ? close() : undefined))
  return {
    port: bound,
    url: `http://127.0.0.1:${bound}/hook`,
    requests,
    /** The requests answered 2xx. */
    accepted: () => requests.filter((r) => r.status >= 200 && r.status < 300),
    answer(fn: typeof handler) {
      handler = fn
    },
    /** Resolves when the next request arrives. */
    nextRequest: () => new Promise<void>((resolve) => arrived.push(resolve)),
    close,
    reopen: () => listen(bound),
  }
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

async function superuser(h: TestApp) {
  const admin = await h.createUser({ isStaff: true, isSuperuser: true })
  const bearer = h.bearer((await h.login(admin.username, admin.password)).access)
  // Its login event is written before any endpoint exists, so no test counts it.
  await h.app.audit.flush()
  return bearer
}

async function register(h: TestApp, auth: Record<string, string>, payload: Record<string, unknown>) {
  const res = await h.request({ method: 'POST', url: `${HOOKS}/`, headers: auth, payload })
  if (res.statusCode !== 201) throw new Error(`register: ${res.statusCode} ${res.body}`)
  return res.json() as { id: number; secret: string; url: string; is_active: boolean }
}

async function deliveries(h: TestApp, auth: Record<string, string>, endpointId: number) {
  const res = await h.request({
    method: 'GET',
    url: `${HOOKS}/${endpointId}/deliveries/?page_size=100`,
    headers: auth,
  })
  if (res.statusCode !== 200) throw new Error(`deliveries: ${res.statusCode} ${res.body}`)
  return res.json().results as {
    id: number
    status: string
    attempts: number
    last_status: number | null
    message_id: string
    event_type: string
  }[]
}

async function attemptsOf(h: TestApp, auth: Record<string, string>, deliveryId: number) {
  const res = await h.request({
    method: 'GET',
    url: `${HOOKS}/deliveries/${deliveryId}/attempts/`,
    headers: auth,
  })
  if (res.statusCode !== 200) throw new Error(`attempts: ${res.statusCode} ${res.body}`)
  return res.json() as {
    delivery: { status: string; attempts: number }
    results: {
      status_code: number | null
      latency_ms: number
      error: string | null
      response_excerpt: string | null
    }[]
  }
}

/** An event as a service records it, written at once. */
async function revoked(h: TestApp, userId: number, n: number) {
  h.app.audit.record(
    { type: 'session.revoked', userId, details: { n } },
    { ip: '203.0.113.9', userAgent: 'test' },
  )
}

async function settle(h: TestApp) {
  await h.app.audit.flush()
  await h.app.webhooks.deliverer.idle()
}

t.test('signatures verify with the reference library; the backoff keeps trying for a day', async (t) => {
  const secret = newSecret()
  t.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/, 'whsec_ and base64 of 32 bytes')
  const body = JSON.stringify({ type: 'session.revoked', timestamp: new Date().toISOString(), data: {} })
  const headers = signedHeaders(secret, 'msg_abc', body)
  t.same(new Webhook(secret).verify(body, headers), JSON.parse(body), 'standardwebhooks accepts it')
  t.throws(() => new Webhook(secret).verify(`${body} `, headers), 'an altered body is refused')
  t.throws(() => new Webhook(newSecret()).verify(body, headers), 'another secret is refused')

  for (const first of [1000, 10_000, 3_600_000]) {
    const n = attemptsForADay(first)
    let waited = 0
    for (let i = 1; i < n; i++) waited += backoffMs(i, first)
    t.ok(
      waited >= 86_400_000,
      `first wait ${first} ms: ${n} attempts span ${Math.round(waited / 3600_000)} h`,
    )
  }
})

t.test('the SSRF guard refuses internal addresses in every spelling', async (t) => {
  for (const address of [
    '127.0.0.1',
    '10.1.2.3',
    '172.31.255.255',
    '192.168.0.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fd00::1',
    'fe80::1%eth0',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:a9fe:a9fe',
    '64:ff9b::a00:1',
  ]) {
    t.ok(isBlockedAddress(address), `${address} is refused`)
  }
  for (const address of ['93.184.215.14', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:8.8.8.8']) {
    t.notOk(isBlockedAddress(address), `${address} is allowed`)
  }
  for (const url of [
    'http://127.0.0.1/',
    'http://localhost:8080/',
    'http://api.localhost/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://0x7f.1/',
    'http://2130706433/',
    'http://169.254.169.254/latest/meta-data/',
    'ftp://example.com/',
    'http://user:pw@example.com/',
    'not a url',
  ]) {
    t.ok(refusedTarget(url, false), `${url} is refused at registration`)
  }
  t.notOk(refusedTarget('https://hooks.example.com/in', false))
  t.notOk(refusedTarget('http://127.0.0.1:9/', true), 'allowed with WEBHOOKS_ALLOW_PRIVATE')
  t.ok(refusedTarget('ftp://127.0.0.1/', true), 'but never another scheme')

  // A name that resolves to loopback at connect time (DNS rebinding): refused when connecting.
  const receiver = await startReceiver(t)
  const rebinding = (_host: string, cb: (e: null, a: { address: string; family: number }[]) => void) =>
    cb(null, [{ address: '127.0.0.1', family: 4 }])
  const send = (allowPrivate: boolean) =>
    postWebhook(`http://rebind.example:${receiver.port}/hook`, {}, '{}', {
      timeoutMs: 2000,
      allowPrivate,
      lookup: guardedLookup(allowPrivate, rebinding),
      agents: { http: new http.Agent(), https: new https.Agent() },
      stop: new AbortController().signal,
    })
  const refused = await send(false)
  t.equal(refused.error, 'target_refused', 'a name resolving to 127.0.0.1 is refused at connect time')
  t.equal(receiver.requests.length, 0, 'nothing reached the receiver')
  const allowed = await send(true)
  t.equal(allowed.statusCode, 200, 'allowed with WEBHOOKS_ALLOW_PRIVATE')
  t.equal(receiver.requests.length, 1)
})

t.test('the SSRF guard refuses IPv6 forms that carry a non-public IPv4 address', async (t) => {
  // Each reaches the IPv4 address it embeds through a translator, relay or tunnel.
  const refused = {
    'NAT64 local-use (64:ff9b:1::/48) of 127.0.0.1': [
      '64:ff9b:1::7f00:1',
      '64:ff9b:1::127.0.0.1',
      '64:FF9B:1:0:0:0:7F00:0001',
      '0064:ff9b:0001:0000:0000:0000:7f00:0001',
    ],
    'NAT64 local-use of 10.0.0.1, 169.254.169.254': ['64:ff9b:1::a00:1', '64:ff9b:1::169.254.169.254'],
    'NAT64 local-use, a layout other than /96': ['64:ff9b:1:7f00:1::', '64:ff9b:1:0:7f:0:100:0'],
    'NAT64 well-known (64:ff9b::/96) of 127.0.0.1': ['64:ff9b::7f00:1', '64:ff9b::127.0.0.1'],
    'IPv4-translated (::ffff:0:0/96) of 127.0.0.1': [
      '::ffff:0:7f00:1',
      '::ffff:0:127.0.0.1',
      '0:0:0:0:ffff:0:7f00:1',
      '0000:0000:0000:0000:FFFF:0000:7F00:0001',
    ],
    'IPv4-translated of 192.168.1.1': ['::ffff:0:c0a8:101', '::ffff:0:192.168.1.1'],
    '6to4 (2002::/16) of 127.0.0.1': ['2002:7f00:1::', '2002:7f00:0001:0:0:0:0:1', '2002:7f00:1:ffff::1'],
    '6to4 of 10.1.2.3, 169.254.169.254, 0.0.0.0': ['2002:a01:203::1', '2002:a9fe:a9fe::', '2002::1'],
    'Teredo (2001::/32), client 127.0.0.1 (stored inverted)': ['2001:0:4136:e378:8000:63bf:80ff:fffe'],
    'Teredo, server 10.0.0.1': ['2001:0:a00:1:8000:63bf:f7f7:f7f7'],
    'ISATAP of 10.0.0.1': ['2606:4700::5efe:a00:1', '2606:4700::200:5efe:10.0.0.1'],
    'ISATAP, link-local even with a public address': ['fe80::5efe:808:808'],
  }
  for (const [form, addresses] of Object.entries(refused)) {
    for (const address of addresses) {
      t.ok(isBlockedAddress(address), `${form}: ${address} is refused`)
      t.ok(
        refusedTarget(`http://[${address}]:8080/hook`, false),
        `${form}: http://[${address}]/ refused at registration`,
      )
    }
  }
  // The same forms carrying a public address reach that address: allowed.
  for (const address of [
    '64:ff9b:1::808:808',
    '64:ff9b::8.8.8.8',
    '::ffff:0:808:808',
    '2002:808:808::1',
    '2001:0:4136:e378:8000:63bf:f7f7:f7f7',
    '2606:4700::5efe:808:808',
  ]) {
    t.notOk(isBlockedAddress(address), `${address} is allowed`)
    t.notOk(refusedTarget(`https://[${address}]/hook`, false), `https://[${address}]/hook is allowed`)
  }
  // And when a name resolves to one of them, the connection is refused.
  const lookup = guardedLookup(false, (_host, cb) => cb(null, [{ address: '2002:7f00:1::', family: 6 }]))
  const err = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
    lookup('sixtofour.example', {}, (e) => resolve(e)),
  )
  t.equal(err?.code, 'ETARGETREFUSED', 'a name resolving to 2002:7f00:1:: is refused at connect time')
})

t.test('an attempt ends at its timeout, or at once on shutdown; the next one delivers', async (t) => {
  const receiver = await startReceiver(t)
  receiver.answer(() => new Promise<number>(() => {})) // never answers
  const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent() }
  t.teardown(() => agents.http.destroy())
  const send = (timeoutMs: number, stop: AbortSignal) =>
    postWebhook(receiver.url, {}, '{}', {
      timeoutMs,
      allowPrivate: true,
      lookup: guardedLookup(true),
      agents,
      stop,
    })
  const started = Date.now()
  const slow = await send(300, new AbortController().signal)
  t.equal(slow.error, 'timeout', 'a receiver that never answers is a timeout')
  t.equal(slow.statusCode, null)
  t.ok(Date.now() - started >= 290, 'not before the timeout')
  const stopping = new AbortController()
  const pending = send(60_000, stopping.signal)
  await waitFor('the second request arrives', () => receiver.requests.length === 2 || undefined)
  stopping.abort()
  t.equal((await pending).error, 'shutdown', 'shutdown ends the attempt at once')
  const stopped = await send(60_000, stopping.signal)
  t.equal(stopped.error, 'shutdown', 'after shutdown nothing is sent')
  t.equal(receiver.requests.length, 2)
  receiver.answer(() => 200)
  t.equal((await send(2000, new AbortController().signal)).statusCode, 200, 'a fresh socket delivers')
})

t.test('registration: loopback refused by default, at registration and at connect time', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend, { webhookRetrySeconds: 1, auditFlushMs: 20, keyEncryptionKey: KEK })
    const auth = await superuser(h)
    const receiver = await startReceiver(t)
    for (const url of [
      receiver.url,
      `http://localhost:${receiver.port}/hook`,
      'http://[::1]/',
      'http://10.0.0.8/',
    ]) {
      const res = await h.request({ method: 'POST', url: `${HOOKS}/`, headers: auth, payload: { url } })
      t.equal(res.statusCode, 400, `${url}: 400`)
      t.match(res.json(), { url: [/not allowed/] }, 'under url, in the DRF shape')
    }
    const outside = await register(h, auth, {
      url: 'https://hooks.example.com/in',
      event_types: ['key.rotated'],
    })
    t.equal(outside.is_active, true, 'a public name is accepted (its address is checked when connecting)')

    // Registered behind the guard's back (or before the setting changed): refused when connecting.
    const row = await h.app.webhooks.endpoints.create(
      {
        url: `http://localhost:${receiver.port}/hook`,
        description: '',
        eventTypes: ['session.revoked'],
        createdBy: null,
      },
      (id) => sealSecret(KEK, id, newSecret()),
    )
    const user = await h.createUser()
    await revoked(h, user.id, 1)
    await settle(h)
    const [delivery] = await deliveries(h, auth, row.id)
    const { results } = await attemptsOf(h, auth, delivery!.id)
    t.equal(results[0]?.error, 'target_refused', 'localhost resolves to 127.0.0.1: refused at connect time')
    t.equal(delivery!.status, 'pending', 'and tried again later, in case the address changes')
    t.equal(receiver.requests.length, 0, 'the receiver heard nothing')
  })
})

t.test('every event arrives once, signed, in order per user; replay; secrets never shown', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend, LOCAL)
    const auth = await superuser(h)
    const receiver = await startReceiver(t)
    // Receivers answer at varied speeds, so order comes from the outbox, not from luck.
    receiver.answer(async () => {
      await new Promise((r) => setTimeout(r, Math.random() * 30))
      return 200
    })
    const endpoint = await register(h, auth, {
      url: receiver.url,
      event_types: ['session.revoked', 'login.succeeded'],
      description: 'SIEM',
    })
    t.match(endpoint.secret, /^whsec_/, 'the answer carries the secret, once')

    const shown = [
      await h.request({ method: 'GET', url: `${HOOKS}/`, headers: auth }),
      await h.request({ method: 'GET', url: `${HOOKS}/${endpoint.id}/`, headers: auth }),
    ]
    for (const res of shown) {
      t.equal(res.statusCode, 200)
      t.notMatch(res.body, endpoint.secret.slice(6, 30), 'the secret is not in GET answers')
      t.notMatch(res.body, /secret/, 'nor any secret field')
    }

    const alice = await h.createUser()
    const bob = await h.createUser()
    for (let n = 1; n <= 6; n++) {
      await revoked(h, alice.id, n)
      await revoked(h, bob.id, n)
      if (n % 2 === 0) await h.app.audit.flush()
    }
    h.app.audit.record({ type: 'key.rotated', details: {} })
    await settle(h)
    await waitFor('12 deliveries', () => receiver.accepted().length >= 12)
    await settle(h)

    const verifier = new Webhook(endpoint.secret)
    const ids = new Set<string>()
    for (const r of receiver.accepted()) {
      t.doesNotThrow(() => verifier.verify(r.body, r.headers), 'verifies with standardwebhooks')
      t.notOk(ids.has(r.headers['webhook-id']!), 'each webhook-id once')
      ids.add(r.headers['webhook-id']!)
    }
    t.equal(ids.size, 12, 'twelve events, twelve messages')
    t.notOk(
      receiver.requests.some((r) => r.json.type === 'key.rotated'),
      'a type the endpoint did not subscribe to is not sent',
    )
    for (const user of [alice, bob]) {
      const seen = receiver
        .accepted()
        .filter((r) => r.json.data.user_id === user.id)
        .map((r) => r.json.data.details.n)
      t.same(seen, [1, 2, 3, 4, 5, 6], `user ${user.id}'s events arrive in order`)
    }
    const sample = receiver.accepted()[0]!.json
    t.match(sample, {
      type: 'session.revoked',
      timestamp: String,
      data: { event_id: Number, user_id: Number, ip: '203.0.113.9', user_agent: 'test', details: {} },
    })

    const listed = await deliveries(h, auth, endpoint.id)
    t.equal(listed.length, 12)
    t.ok(
      listed.every((d) => d.status === 'delivered' && d.attempts === 1 && d.last_status === 200),
      'all delivered on the first attempt',
    )
    t.ok(listed[0]!.id > listed[11]!.id, 'newest first')

    // Replay: the same message again, recorded as its own delivery with its own attempts.
    const original = listed[5]!
    const replay = await h.request({
      method: 'POST',
      url: `${HOOKS}/deliveries/${original.id}/replay/`,
      headers: auth,
    })
    t.equal(replay.statusCode, 201)
    t.equal(replay.json().message_id, original.message_id, 'same webhook-id')
    await settle(h)
    await waitFor('the replay', () => receiver.accepted().length >= 13)
    const again = receiver.accepted().at(-1)!
    t.equal(again.headers['webhook-id'], original.message_id, 'the receiver can tell it is the same message')
    t.doesNotThrow(() => verifier.verify(again.body, again.headers), 'signed afresh')
    const { delivery, results } = await attemptsOf(h, auth, replay.json().id)
    t.equal(delivery.status, 'delivered')
    t.equal(results.length, 1, 'its attempt is recorded')
    t.match(results[0], { status_code: 200, error: null, response_excerpt: 'answer 200 from the receiver' })
    t.ok(results[0]!.latency_ms >= 0)

    // Rotation: the next delivery verifies with the new secret only.
    const rotated = await h.request({
      method: 'POST',
      url: `${HOOKS}/${endpoint.id}/rotate-secret/`,
      headers: auth,
    })
    t.equal(rotated.statusCode, 200)
    const newer = rotated.json().secret as string
    t.not(newer, endpoint.secret)
    await revoked(h, alice.id, 7)
    await settle(h)
    await waitFor('the delivery after rotation', () => receiver.accepted().length >= 14)
    const last = receiver.accepted().at(-1)!
    t.doesNotThrow(() => new Webhook(newer).verify(last.body, last.headers), 'the new secret verifies')
    t.throws(() => verifier.verify(last.body, last.headers), 'the old one no longer does')

    // End to end through a real login (needs the login flow to record login.succeeded).
    const carol = await h.createUser()
    await h.login(carol.username, carol.password)
    await h.app.audit.flush()
    const login = await waitFor(
      'a login.succeeded delivery',
      () =>
        receiver
          .accepted()
          .find((r) => r.json.type === 'login.succeeded' && r.json.data.user_id === carol.id),
      10_000,
    ).catch(() => undefined)
    t.ok(login, 'a real login reaches the receiver as login.succeeded')
    if (login) t.doesNotThrow(() => new Webhook(newer).verify(login.body, login.headers))
  })
})

t.test('a receiver that is down, then failing, gets everything once it is back, in order', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend, LOCAL)
    const auth = await superuser(h)
    const receiver = await startReceiver(t)
    await receiver.close() // connection refused from here on
    const endpoint = await register(h, auth, { url: receiver.url, event_types: ['session.revoked'] })
    const user = await h.createUser()
    await revoked(h, user.id, 1)
    await settle(h)
    await revoked(h, user.id, 2)
    await settle(h)

    const firstTry = await waitFor('a refused attempt', async () => {
      const list = await deliveries(h, auth, endpoint.id)
      const first = list.find((d) => d.attempts >= 1)
      return first && (await attemptsOf(h, auth, first.id)).results[0]
    })
    t.equal(firstTry.error, 'connection_refused', 'recorded as connection refused')
    t.equal(firstTry.status_code, null)
    const waiting = await deliveries(h, auth, endpoint.id)
    t.same(
      waiting.map((d) => [d.status, d.attempts]),
      [
        ['pending', 0],
        ['pending', 1],
      ],
      "the user's second event waits behind the first",
    )

    // Back, but failing twice before it recovers.
    let failures = 2
    receiver.answer(() => (failures-- > 0 ? 500 : 200))
    await receiver.reopen()
    await waitFor('both events delivered', () => (receiver.accepted().length >= 2 ? true : undefined), 30_000)
    await settle(h)
    t.same(
      receiver.accepted().map((r) => r.json.data.details.n),
      [1, 2],
      'delivered after the outage, in order',
    )
    t.ok(
      receiver.requests.slice(0, 2).every((r) => r.json.data.details.n === 1),
      'the 500s were for the first',
    )
    const [second, first] = await deliveries(h, auth, endpoint.id)
    t.equal(first!.status, 'delivered')
    t.equal(second!.status, 'delivered')
    const { results } = await attemptsOf(h, auth, first!.id)
    t.same(
      results.map((a) => [a.status_code, a.error]),
      [
        [null, 'connection_refused'],
        [500, 'http_error'],
        [500, 'http_error'],
        [200, null],
      ],
      'each attempt is recorded',
    )
    t.equal(results[1]!.response_excerpt, 'answer 500 from the receiver', "with the receiver's answer")
  })
})

t.test('a receiver that holds its answer slows neither logins nor other endpoints', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend, LOCAL)
    const auth = await superuser(h)
    const slow = await startReceiver(t)
    const fast = await startReceiver(t)
    let release!: () => void
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    slow.answer(async () => {
      await held
      return 200
    })
    await register(h, auth, { url: slow.url })
    await register(h, auth, { url: fast.url, event_types: ['session.revoked'] })

    const user = await h.createUser()
    const arrived = slow.nextRequest()
    await revoked(h, user.id, 1)
    await h.app.audit.flush()
    await arrived
    t.equal(slow.requests.length, 1, "the slow receiver's first request is open")

    const people = await Promise.all([1, 2, 3, 4, 5].map(() => h.createUser()))
    const logins = await Promise.all(people.map((p) => h.login(p.username, p.password)))
    t.equal(logins.length, 5, 'five logins completed while the receiver holds its answer')
    t.ok(
      logins.every((l) => typeof l.access === 'string'),
      'each with its tokens',
    )
    await revoked(h, people[0]!.id, 2)
    await h.app.audit.flush()
    await waitFor('the fast receiver', () => fast.accepted().length >= 2)
    t.equal(slow.requests.filter((r) => r.status === 0).length >= 1, true, 'the slow request is still open')

    release()
    await waitFor('the held delivery', () => slow.accepted().length >= 1)
    await settle(h)
    t.ok(slow.accepted().length >= 1, 'the held delivery completes once released')
  })
})

t.test('410 Gone disables the endpoint; bad input is 400; only superusers', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend, LOCAL)
    const auth = await superuser(h)
    const receiver = await startReceiver(t)
    receiver.answer(() => 410)
    const endpoint = await register(h, auth, { url: receiver.url })
    const user = await h.createUser()
    await revoked(h, user.id, 1)
    await settle(h)
    await waitFor('the 410', () => receiver.requests.length >= 1)
    await settle(h)
    const shown = await h.request({ method: 'GET', url: `${HOOKS}/${endpoint.id}/`, headers: auth })
    t.equal(shown.json().is_active, false, 'the endpoint is disabled')
    t.equal((await deliveries(h, auth, endpoint.id))[0]!.status, 'failed', 'and that delivery failed')

    const bad = await h.request({
      method: 'POST',
      url: `${HOOKS}/`,
      headers: auth,
      payload: { url: receiver.url, event_types: ['login.succeeded', 'no.such'], secret: 'whsec_short' },
    })
    t.equal(bad.statusCode, 400)
    t.ok(bad.json().event_types, 'an unknown event type is named')
    const badSecret = await h.request({
      method: 'POST',
      url: `${HOOKS}/`,
      headers: auth,
      payload: { url: receiver.url, secret: 'whsec_short' },
    })
    t.match(badSecret.json(), { secret: [/whsec_/] })
    const chosen = newSecret()
    const own = await register(h, auth, { url: receiver.url, secret: chosen })
    t.equal(own.secret, chosen, 'a secret of the right form is kept')
    const patched = await h.request({
      method: 'PATCH',
      url: `${HOOKS}/${own.id}/`,
      headers: auth,
      payload: { is_active: false, description: 'paused', url: 'http://user:pw@example.com/' },
    })
    t.equal(patched.statusCode, 400, 'a PATCH to a refused URL is refused whole')
    t.match(patched.json(), { url: [String] })

    const staff = await h.createUser({ isStaff: true })
    const plain = await h.createUser()
    for (const who of [staff, plain]) {
      const bearer = h.bearer((await h.login(who.username, who.password)).access)
      for (const [method, url] of [
        ['GET', `${HOOKS}/`],
        ['POST', `${HOOKS}/`],
        ['GET', `${HOOKS}/${own.id}/deliveries/`],
        ['POST', `${HOOKS}/deliveries/1/replay/`],
      ] as const) {
        const res = await h.request({
          method,
          url,
          headers: bearer,
          payload: method === 'POST' ? { url: receiver.url } : undefined,
        })
        t.equal(res.statusCode, 403, `${who === staff ? 'staff' : 'a user'}: ${method} ${url} is 403`)
      }
    }
    t.equal((await h.request({ method: 'GET', url: `${HOOKS}/` })).statusCode, 401)

    const removed = await h.request({ method: 'DELETE', url: `${HOOKS}/${own.id}/`, headers: auth })
    t.equal(removed.statusCode, 204)
    t.equal((await h.request({ method: 'GET', url: `${HOOKS}/${own.id}/`, headers: auth })).statusCode, 404)
    t.equal(
      (await h.request({ method: 'POST', url: `${HOOKS}/deliveries/999999/replay/`, headers: auth }))
        .statusCode,
      404,
    )
  })
})

t.test('a steady stream of events from many users, in many batches, is all delivered', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend, LOCAL)
    const receiver = await startReceiver(t)
    const auth = await superuser(h)
    await register(h, auth, { url: receiver.url, event_types: [] })
    const total = 3000
    // 30 batches of 100 events over 200 users, while earlier batches are being delivered.
    for (let batch = 0; batch < 30; batch++) {
      for (let i = 0; i < 100; i++) await revoked(h, 1 + ((batch * 100 + i) % 200), batch * 100 + i)
      await new Promise((r) => setTimeout(r, 30))
    }
    await h.app.audit.flush()
    await waitFor(
      'every event delivered',
      () => new Set(receiver.accepted().map((r) => r.headers['webhook-id'])).size >= total || undefined,
      60_000,
    )
    t.equal(new Set(receiver.accepted().map((r) => r.headers['webhook-id'])).size, total, 'each event once')
  })
})
