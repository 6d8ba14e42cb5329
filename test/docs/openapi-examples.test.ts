import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import Ajv from 'ajv'
import addFormats from 'ajv-formats'
import t, { type Test } from 'tap'
import { ERROR_CODES } from '../../schema/wire.js'
import { makeApp } from '../helpers/backends.js'
import { root } from '../helpers/server-process.js'

/**
 * The API reference as a newcomer reads it in Swagger UI or ReDoc: each operation shows a request
 * and an answer that the schemas accept and that look like real data, each error answer lists the
 * codes it may carry (every code the source raises), the login body is one of its three shapes,
 * aliases are set apart, every tag says what it holds, and the licence is stated.
 */
interface Media {
  schema: Record<string, unknown> & { properties?: Record<string, Record<string, unknown>> }
  example?: unknown
}
interface Operation {
  tags?: string[]
  summary?: string
  deprecated?: boolean
  description?: string
  requestBody?: { content: Record<string, Media> }
  responses: Record<string, { content?: Record<string, Media> }>
}
interface Doc {
  info: { license?: { name: string; url?: string } }
  tags: { name: string; description?: string }[]
  paths: Record<string, Record<string, Operation>>
}

async function document(t: Test): Promise<Doc> {
  const app = await makeApp(t, 'embedded')
  return (await app.request({ method: 'GET', url: '/api/v1/schema/' })).json()
}

function operations(doc: Doc) {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ name: `${method.toUpperCase()} ${path}`, op })),
  )
}

/** Ajv for OpenAPI 3.0 schemas: `nullable`, `example` and `x-` annotations allowed. */
function validator() {
  return addFormats.default(new Ajv.default({ strict: false, allErrors: true }))
}

function dateTimes(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(value)) out.push(value)
  else if (Array.isArray(value)) for (const v of value) dateTimes(v, out)
  else if (value && typeof value === 'object') for (const v of Object.values(value)) dateTimes(v, out)
  return out
}

t.test('every operation has a request and an answer example, each valid against its schema', async (t) => {
  const doc = await document(t)
  const ajv = validator()
  const missing: string[] = []
  const invalid: string[] = []
  const times: string[] = []
  for (const { name, op } of operations(doc)) {
    for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) {
      if (media.example === undefined) missing.push(`${name} request (${type})`)
      else if (!ajv.validate(media.schema, media.example))
        invalid.push(`${name} request: ${ajv.errorsText()}`)
    }
    for (const [status, response] of Object.entries(op.responses)) {
      for (const media of Object.values(response.content ?? {})) {
        const example = media.example ?? media.schema.example
        if (example === undefined) {
          missing.push(`${name} ${status}`)
          continue
        }
        if (!ajv.validate(media.schema, example)) invalid.push(`${name} ${status}: ${ajv.errorsText()}`)
        if (status.startsWith('2')) times.push(...dateTimes(example))
      }
    }
  }
  t.same(missing, [], 'no request body and no answer without an example')
  t.same(invalid, [], 'every example is what its schema accepts')
  t.ok(new Set(times).size >= 20, `varied date-times (${new Set(times).size} distinct of ${times.length})`)
  t.notOk(JSON.stringify(doc).includes('additionalProp1'), 'no placeholder field names')

  const login = doc.paths['/api/v1/auth/token/']!.post!
  const shown = (status: string) => {
    const media = login.responses[status]!.content!['application/json']!
    return media.example ?? media.schema.example
  }
  t.same(
    shown('400'),
    { password: ['This field may not be blank.'] },
    "login's 400 example is a field error a client can get",
  )
  t.same(shown('401'), {
    detail: 'No active account found with the given credentials',
  })
})

t.test('every error answer lists its codes, and every code the source raises is listed', async (t) => {
  const doc = await document(t)
  const unlisted: string[] = []
  for (const { name, op } of operations(doc)) {
    for (const [status, response] of Object.entries(op.responses)) {
      if (Number(status) < 400) continue
      for (const media of Object.values(response.content ?? {})) {
        const code = media.schema.properties?.code
        if (code && !(Array.isArray(code.enum) && code.enum.length > 0)) unlisted.push(`${name} ${status}`)
      }
    }
  }
  t.same(unlisted, [], 'each error body with a code names the possible values')
  const me = doc.paths['/api/v1/auth/users/me/']!.get!.responses
  for (const [status, expected] of [
    ['401', ['mfa_required', 'token_revoked', 'account_expired', 'user_inactive', 'token_not_valid']],
    ['429', ['throttled']],
    ['503', ['service_unavailable', 'mfa_unavailable']],
  ] as const) {
    const codes = me[status]?.content?.['application/json']?.schema.properties?.code?.enum as string[]
    t.ok(
      expected.every((c) => codes?.includes(c)),
      `${status} lists ${expected.join(', ')}`,
    )
  }

  // Every `new ApiError(status, sentence, 'code')` in the service, and the status it goes with.
  const raised: [number, string, string][] = []
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((f) => {
      const path = join(dir, f)
      return statSync(path).isDirectory() ? walk(path) : path.endsWith('.ts') ? [path] : []
    })
  for (const file of ['src', 'plugins', 'routes'].flatMap((d) => walk(join(root, d)))) {
    const text = readFileSync(file, 'utf8')
    const calls = /new ApiError\(\s*(\d{3}|status)\s*,(?:(?!new ApiError)[^;])*?,\s*'([a-z_]+)'\s*[,)]/g
    for (const m of text.matchAll(calls)) {
      // A variable status (a refresh token read by logout) is 400 or 401.
      const statuses = m[1] === 'status' ? [400, 401] : [Number(m[1])]
      for (const s of statuses) raised.push([s, m[2]!, relative(root, file)])
    }
  }
  t.ok(raised.length >= 25, `${raised.length} codes raised in the source`)
  const lists = ERROR_CODES as Record<number, readonly string[]>
  const missing = raised.filter(([s, code]) => !lists[s]?.includes(code))
  t.same(
    missing.map(([s, code, file]) => `${s} ${code} (${file})`),
    [],
    'schema/wire.ts ERROR_CODES lists every code the source raises, under its status',
  )
  t.ok(lists[401]?.includes('mfa_code_used'), 'the reused two-factor code has its own code')
})

t.test(
  'login shows its three body shapes; aliases are set apart; enums and tags are explained',
  async (t) => {
    const doc = await document(t)
    const login = doc.paths['/api/v1/auth/token/']!.post!
    const body = login.requestBody!.content['application/json']!.schema as {
      oneOf?: { required?: string[] }[]
    }
    t.same(
      body.oneOf?.map((s) => s.required),
      [
        ['username', 'password'],
        ['email', 'password'],
        ['login', 'password'],
      ],
      'one of username, email or login, with the password',
    )
    const clientType = (body.oneOf![0] as { properties: Record<string, Record<string, unknown>> }).properties
      .client_type!
    t.same(clientType.enum, ['telegram_bot', 'website', 'mobile', 'unknown'], 'client_type is an enum')
    t.notOk(clientType.anyOf, 'not a union of single strings')
    for (const c of ['telegram_bot', 'website', 'mobile', 'unknown']) {
      t.match(clientType.description, `\`${c}\`:`, `client_type explains ${c}`)
    }

    t.notOk(login.deprecated, 'the canonical login is current')
    t.match(login.description, /Also answered at `\/api\/token\/`, `\/api\/auth\/token\/`/)
    const logins = operations(doc).filter(({ op }) => op.summary === login.summary)
    t.equal(logins.length, 1, 'one "Log in" entry in the reference')
    for (const path of [
      '/api/token/',
      '/api/auth/token/',
      '/api/login/',
      '/api/users/auth/login/',
      '/auth/login/',
    ]) {
      const alias = doc.paths[path]!.post!
      t.equal(alias.deprecated, true, `${path} is marked deprecated`)
      t.same(alias.tags, ['aliases'])
      t.equal(alias.summary, `${path} (alias)`)
      t.match(alias.description, 'the same operation as `POST /api/v1/auth/token/`')
      t.same(
        alias.requestBody?.content['application/json']?.example,
        login.requestBody?.content['application/json']?.example,
        `${path} shows the canonical example`,
      )
    }
    t.equal(doc.paths['/api/user/']?.get?.deprecated, true, 'the current-user aliases too')

    const used = new Set(operations(doc).flatMap(({ op }) => op.tags ?? []))
    for (const tag of used) {
      const described = doc.tags.find((x) => x.name === tag)?.description
      t.ok(described && described.length > 20, `the tag ${tag} is described`)
    }
  },
)

t.test('the licence is MIT, shipped and stated alike', async (t) => {
  const doc = await document(t)
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  t.equal(pkg.license, 'MIT')
  t.match(readFileSync(join(root, 'LICENSE'), 'utf8'), /^MIT License\n\nCopyright \(c\) \d{4}/)
  t.same(doc.info.license, { name: 'MIT', url: 'https://opensource.org/license/mit' })
})
