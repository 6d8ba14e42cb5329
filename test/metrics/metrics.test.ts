import { createServer } from 'node:net'
import { Writable } from 'node:stream'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { eachBackend, makeApp, openBackend, testConfig } from '../helpers/backends.js'

t.setTimeout(180_000)

const TOKEN = 'metrics-token-'.padEnd(40, 'x')
const V1 = '/api/v1/auth'

interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

interface Family {
  type: string
  help: string
  samples: Sample[]
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])

function parseValue(text: string): number {
  if (text === 'NaN') return Number.NaN
  if (text === '+Inf') return Number.POSITIVE_INFINITY
  if (text === '-Inf') return Number.NEGATIVE_INFINITY
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text))
    throw new Error(`bad value ${JSON.stringify(text)}`)
  return Number(text)
}

/** The labels of a sample line, from just after `{`: returns them and the index after `}`. */
function parseLabels(line: string, start: number): [Record<string, string>, number] {
  const labels: Record<string, string> = {}
  let i = start
  for (;;) {
    if (line[i] === '}') return [labels, i + 1]
    const eq = line.indexOf('=', i)
    if (eq < 0) throw new Error(`no '=' in labels: ${line}`)
    const name = line.slice(i, eq)
    if (!LABEL_NAME.test(name)) throw new Error(`bad label name ${JSON.stringify(name)}: ${line}`)
    if (name in labels) throw new Error(`label ${name} twice: ${line}`)
    if (line[eq + 1] !== '"') throw new Error(`unquoted label value: ${line}`)
    let value = ''
    let j = eq + 2
    for (;;) {
      const c = line[j]
      if (c === undefined) throw new Error(`unterminated label value: ${line}`)
      if (c === '"') break
      if (c === '\\') {
        const next = line[j + 1]
        if (next === 'n') value += '\n'
        else if (next === '\\' || next === '"') value += next
        else throw new Error(`bad escape in label value: ${line}`)
        j += 2
      } else {
        value += c
        j++
      }
    }
    labels[name] = value
    i = j + 1
    if (line[i] === ',') i++
    else if (line[i] !== '}') throw new Error(`expected ',' or '}': ${line}`)
  }
}

/**
 * A strict reader of the Prometheus text exposition format (0.0.4): every sample belongs to a
 * family declared by one HELP and one TYPE line before it, names and labels are well formed,
 * values are numbers, and each histogram's buckets are cumulative up to +Inf, which equals _count.
 */
function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>()
  const family = (name: string) => {
    let f = families.get(name)
    if (!f) {
      f = { type: '', help: '', samples: [] }
      families.set(name, f)
    }
    return f
  }
  const ownerOf = (sample: string): Family => {
    for (const suffix of ['', '_bucket', '_sum', '_count']) {
      if (suffix && !sample.endsWith(suffix)) continue
      const f = families.get(sample.slice(0, sample.length - suffix.length))
      if (!f?.type) continue
      if (suffix === '' || f.type === 'histogram' || (f.type === 'summary' && suffix !== '_bucket')) return f
    }
    throw new Error(`sample ${sample} has no TYPE before it`)
  }
  if (!text.endsWith('\n')) throw new Error('the exposition does not end with a newline')
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line)
      if (!m) continue // a comment
      const [, kind, name, rest] = m as unknown as [string, string, string, string]
      if (!METRIC_NAME.test(name)) throw new Error(`bad metric name ${name}`)
      const f = family(name)
      if (kind === 'HELP') {
        if (f.help) throw new Error(`HELP ${name} twice`)
        if (f.samples.length) throw new Error(`HELP ${name} after its samples`)
        f.help = rest || ' '
      } else {
        if (f.type) throw new Error(`TYPE ${name} twice`)
        if (!TYPES.has(rest)) throw new Error(`bad type ${rest} for ${name}`)
        if (f.samples.length) throw new Error(`TYPE ${name} after its samples`)
        f.type = rest
      }
      continue
    }
    const nameEnd = line.search(/[{ ]/)
    if (nameEnd <= 0) throw new Error(`bad sample line ${JSON.stringify(line)}`)
    const name = line.slice(0, nameEnd)
    if (!METRIC_NAME.test(name)) throw new Error(`bad sample name ${name}`)
    let labels: Record<string, string> = {}
    let i = nameEnd
    if (line[i] === '{') [labels, i] = parseLabels(line, i + 1)
    if (line[i] !== ' ') throw new Error(`expected a space before the value: ${line}`)
    const [valueText, timestamp, extra] = line.slice(i + 1).split(' ')
    if (extra !== undefined || (timestamp !== undefined && !/^-?\d+$/.test(timestamp))) {
      throw new Error(`bad sample line ${JSON.stringify(line)}`)
    }
    ownerOf(name).samples.push({ name, labels, value: parseValue(valueText ?? '') })
  }
  for (const [name, f] of families) {
    if (!f.type || !f.help) throw new Error(`${name} lacks HELP or TYPE`)
    if (f.type !== 'histogram') continue
    const series = new Map<string, { buckets: [number, number][]; count?: number }>()
    for (const s of f.samples) {
      const { le, ...rest } = s.labels
      const key = JSON.stringify(Object.entries(rest).sort())
      const entry = series.get(key) ?? { buckets: [] }
      series.set(key, entry)
      if (s.name.endsWith('_bucket')) entry.buckets.push([parseValue(le ?? 'missing'), s.value])
      else if (s.name.endsWith('_count')) entry.count = s.value
    }
    for (const [key, { buckets, count }] of series) {
      for (let k = 1; k < buckets.length; k++) {
        if (buckets[k]![0] <= buckets[k - 1]![0] || buckets[k]![1] < buckets[k - 1]![1]) {
          throw new Error(`${name}${key}: buckets not cumulative`)
        }
      }
      const last = buckets.at(-1)
      if (last?.[0] !== Number.POSITIVE_INFINITY || last[1] !== count) {
        throw new Error(`${name}${key}: +Inf bucket missing or not equal to _count`)
      }
    }
  }
  return families
}

/** The value of the one sample of `name` whose labels include `labels` (0 when absent). */
function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const familyName = name.replace(/_(bucket|sum|count)$/, '')
  const f = families.get(name) ?? families.get(familyName)
  const found = (f?.samples ?? []).filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`)
  return found[0]?.value ?? 0
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

t.test('parser self-check: it refuses what Prometheus would', async (t) => {
  t.throws(() => parseExposition('x 1\n'), /no TYPE/)
  t.throws(() => parseExposition('# HELP x h\n# TYPE x counter\nx{a="1} 1\n'), /unterminated/)
  t.throws(() => parseExposition('# HELP x h\n# TYPE x counter\nx one\n'), /bad value/)
  t.throws(
    () =>
      parseExposition(
        '# HELP h h\n# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\n',
      ),
    /not cumulative/,
  )
  const ok = parseExposition('# HELP x a "help"\n# TYPE x gauge\nx{a="q\\"\\\\"} NaN\n')
  t.equal(ok.get('x')?.samples[0]?.labels.a, 'q"\\')
})

t.test('/metrics behind METRICS_TOKEN: Prometheus text whose counters move with requests', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend, {
      metricsToken: TOKEN,
      refreshReuseGraceSeconds: 0,
      loginRateLimit: 3,
    })
    const scrape = async () => {
      const res = await h.request({
        method: 'GET',
        url: '/metrics',
        headers: { authorization: `Bearer ${TOKEN}` },
      })
      t.equal(res.statusCode, 200, 'scraped')
      t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
      return parseExposition(res.body)
    }

    const none = await h.request({ method: 'GET', url: '/metrics' })
    t.equal(none.statusCode, 401, 'no token: 401')
    t.same(none.json(), { detail: 'Authentication credentials were not provided.' })
    const wrong = await h.request({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${TOKEN.slice(0, -1)}y` },
    })
    t.equal(wrong.statusCode, 401, 'a wrong token: 401')
    t.equal(wrong.json().code, 'authentication_failed')
    t.type(wrong.json().detail, 'string')
    const basic = await h.request({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Basic ${TOKEN}` },
    })
    t.equal(basic.statusCode, 401, 'another scheme: 401')

    const before = await scrape()
    t.ok(before.size > 10, 'families')
    for (const name of [
      'authjwt_http_request_duration_seconds',
      'authjwt_logins_total',
      'authjwt_token_refreshes_total',
      'authjwt_revocation_store_duration_seconds',
      'authjwt_revocation_store_errors_total',
      'authjwt_revocation_rebuilds_total',
      'authjwt_rate_limit_hits_total',
      'authjwt_webhook_deliveries_pending',
      'authjwt_db_pool_size',
      'authjwt_process_cpu_seconds_total',
    ]) {
      t.ok(before.has(name), `${name} is exposed`)
    }
    t.ok(
      value(before, 'authjwt_revocation_rebuilds_total', { result: 'ok' }) >= 1,
      'the start rebuild counted',
    )
    t.equal(value(before, 'authjwt_webhook_deliveries_pending'), 0, 'no webhook backlog')
    if (backend === 'embedded') t.equal(value(before, 'authjwt_db_pool_size'), 1, 'PGlite: one connection')
    else {
      t.equal(value(before, 'authjwt_db_pool_size'), 5, 'the pool size')
      t.ok(before.has('authjwt_db_pool_in_use'), 'connections in use, on PostgreSQL')
      t.equal(value(before, 'authjwt_db_pool_waiting'), 0)
    }

    const user = await h.createUser()
    const pair = await h.login(user.username, user.password)
    const wrongPassword = await h.request({
      method: 'POST',
      url: `${V1}/token/`,
      payload: { username: user.username, password: 'not-the-password' },
    })
    t.equal(wrongPassword.statusCode, 401)
    const me = await h.request({ method: 'GET', url: `${V1}/users/me/`, headers: h.bearer(pair.access) })
    t.equal(me.statusCode, 200)
    const rotated = await h.request({
      method: 'POST',
      url: `${V1}/token/refresh/`,
      payload: { refresh: pair.refresh },
    })
    t.equal(rotated.statusCode, 200, 'refreshed')
    const reused = await h.request({
      method: 'POST',
      url: `${V1}/token/refresh/`,
      payload: { refresh: pair.refresh },
    })
    t.equal(reused.statusCode, 401, 'the spent token: reuse')
    const garbage = await h.request({
      method: 'POST',
      url: `${V1}/token/refresh/`,
      payload: { refresh: 'x.y.z' },
    })
    t.equal(garbage.statusCode, 401, 'a bad token: refused')
    const unknown = await h.request({ method: 'GET', url: '/no/such/path/12345' })
    t.equal(unknown.statusCode, 404)
    const victim = await h.createUser()
    let throttled = 0
    for (let i = 0; i < 5; i++) {
      const res = await h.request({
        method: 'POST',
        url: `${V1}/token/`,
        payload: { username: victim.username, password: 'guess' },
      })
      if (res.statusCode === 429) throttled++
    }
    t.ok(throttled > 0, 'the login rate limit answered 429')

    const after = await scrape()
    const delta = (name: string, labels: Record<string, string> = {}) =>
      value(after, name, labels) - value(before, name, labels)
    const requests = (route: string, method: string, status: string) =>
      delta('authjwt_http_request_duration_seconds_count', { route, method, status_code: status })

    t.equal(requests(`${V1}/token/refresh/`, 'POST', '200'), 1, 'request histogram: the refresh')
    t.equal(
      requests(`${V1}/token/refresh/`, 'POST', '401'),
      2,
      'request histogram: the two refused refreshes',
    )
    t.equal(requests(`${V1}/users/me/`, 'GET', '200'), 1, 'request histogram: the protected route')
    t.equal(requests('unmatched', 'GET', '404'), 1, 'an unknown path is one series, never its URL')
    t.equal(requests('/metrics', 'GET', '200'), 1, 'the first scrape itself')
    t.notOk(
      [...after.get('authjwt_http_request_duration_seconds')!.samples].some((s) =>
        s.labels.route?.includes('12345'),
      ),
      'no raw URL in a label',
    )
    t.ok(
      delta('authjwt_http_request_duration_seconds_sum', {
        route: `${V1}/users/me/`,
        method: 'GET',
        status_code: '200',
      }) > 0,
      'latency summed',
    )
    t.ok(
      delta('authjwt_revocation_store_duration_seconds_count', { operation: 'lookup' }) >= 1,
      'store lookups timed',
    )
    t.ok(
      delta('authjwt_revocation_store_duration_seconds_count', { operation: 'hit' }) >= 1,
      'rate-limit counters timed',
    )
    t.equal(delta('authjwt_revocation_store_errors_total', { operation: 'lookup' }), 0, 'no store errors')

    // Outcomes from the audit trail's events.
    t.equal(delta('authjwt_logins_total', { outcome: 'succeeded' }), 1, 'login succeeded')
    t.ok(delta('authjwt_logins_total', { outcome: 'failed' }) >= 2, 'logins failed')
    t.ok(delta('authjwt_login_failures_total', { reason: 'wrong_password' }) >= 2, 'by reason')
    t.equal(delta('authjwt_token_refreshes_total', { outcome: 'rotated' }), 1, 'refresh rotated')
    t.equal(delta('authjwt_token_refreshes_total', { outcome: 'reused' }), 1, 'refresh reused')
    t.equal(
      delta('authjwt_token_refreshes_total', { outcome: 'refused' }),
      1,
      'refresh refused (reuse not counted twice)',
    )
    t.equal(delta('authjwt_rate_limit_hits_total', { route: `${V1}/token/` }), throttled, 'rate-limit hits')
    t.equal(delta('authjwt_audit_events_total', { type: 'login.succeeded' }), 1, 'audit events by type')
  })
})

t.test('/metrics is an unknown path without METRICS_TOKEN, and never in the OpenAPI document', async (t) => {
  const off = await makeApp(t, 'embedded')
  t.equal(off.app.metrics, null, 'metrics off')
  t.equal(off.app.metricsServer, null)
  for (const headers of [{}, { authorization: `Bearer ${TOKEN}` }]) {
    const res = await off.request({ method: 'GET', url: '/metrics', headers })
    t.equal(res.statusCode, 404)
    t.same(res.json(), { detail: 'Not found.', code: 'not_found' })
  }
  const on = await makeApp(t, 'embedded', { metricsToken: TOKEN })
  const doc = await on.request({
    method: 'GET',
    url: '/api/v1/schema/',
    headers: { accept: 'application/json' },
  })
  t.equal(doc.statusCode, 200)
  t.match(doc.body, `"${V1}/token/"`, 'the document lists the routes')
  t.notMatch(doc.body, '"/metrics"', 'hidden from the OpenAPI document')
})

t.test('METRICS_PORT: a server of its own, without a token', async (t) => {
  const port = await freePort()
  const h = await makeApp(t, 'embedded', { metricsPort: port })
  t.equal(h.app.metricsServer?.port, port, 'the bound port is readable')
  const base = `http://${h.config.host}:${port}`
  const first = await fetch(`${base}/metrics`)
  t.equal(first.status, 200)
  t.match(first.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  const before = parseExposition(await first.text())
  t.equal((await h.request({ method: 'GET', url: '/health/live' })).statusCode, 200)
  const after = parseExposition(await (await fetch(`${base}/metrics`)).text())
  const live = { route: '/health/live', method: 'GET', status_code: '200' }
  t.equal(
    value(after, 'authjwt_http_request_duration_seconds_count', live) -
      value(before, 'authjwt_http_request_duration_seconds_count', live),
    1,
    'a request moves the histogram',
  )
  t.equal((await fetch(`${base}/other`)).status, 404, 'nothing else is served there')
  t.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405)
  const onService = await h.request({ method: 'GET', url: '/metrics' })
  t.equal(onService.statusCode, 404, 'not on the service port without METRICS_TOKEN')
  await h.app.close()
  await t.rejects(fetch(`${base}/metrics`), 'closed with the app')
})

t.test('x-request-id: generated, returned on every answer, taken only from a trusted proxy', async (t) => {
  const direct = await makeApp(t, 'embedded')
  for (const [method, url] of [
    ['GET', '/health/live'],
    ['GET', '/no/such/path/'],
    ['GET', `${V1}/users/me/`],
    ['DELETE', '/health/live'],
  ] as const) {
    const res = await direct.request({ method, url, headers: { 'x-request-id': 'from-the-client' } })
    t.match(res.headers['x-request-id'], UUID, `${method} ${url} (${res.statusCode}): a new UUID`)
  }
  const a = await direct.request({ method: 'GET', url: '/health/live' })
  const b = await direct.request({ method: 'GET', url: '/health/live' })
  t.not(a.headers['x-request-id'], b.headers['x-request-id'], 'one per request')

  const proxied = await makeApp(t, 'embedded', { trustProxy: 1 })
  const kept = await proxied.request({
    method: 'GET',
    url: `${V1}/users/me/`,
    headers: { 'x-request-id': 'lb-1f3a:77.abc_Z-9' },
  })
  t.equal(kept.statusCode, 401)
  t.equal(kept.headers['x-request-id'], 'lb-1f3a:77.abc_Z-9', "a trusted proxy's id is kept, on errors too")
  for (const unsafe of ['has space', 'a'.repeat(129), 'quote"d', '<script>', 'semi;colon', '']) {
    const res = await proxied.request({
      method: 'GET',
      url: '/health/live',
      headers: { 'x-request-id': unsafe },
    })
    t.match(
      res.headers['x-request-id'],
      UUID,
      `an unsafe id (${JSON.stringify(unsafe.slice(0, 12))}) is replaced`,
    )
  }
})

t.test('the request id is in the log lines of its request', async (t) => {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line))
      callback()
    },
  })
  const { database, store } = await openBackend(t, 'embedded')
  const app = await buildApp(testConfig({ logLevel: 'debug', trustProxy: 1 }), {
    database,
    store,
    logger: { level: 'info', stream },
  })
  t.teardown(() => app.close())
  await app.ready()
  const res = await app.inject({
    method: 'GET',
    url: '/health/live',
    headers: { 'x-request-id': 'trace-42' },
  })
  t.equal(res.headers['x-request-id'], 'trace-42')
  const own = lines.filter((l) => l.reqId === 'trace-42')
  t.ok(
    own.some((l) => l.msg === 'incoming request'),
    'the incoming line',
  )
  t.ok(
    own.some((l) => l.msg === 'request completed'),
    'the completed line',
  )
})
