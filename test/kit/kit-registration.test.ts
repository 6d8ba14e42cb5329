import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { generatePrivateKey } from '../../src/keys/material.js'
import authjwt, { type AuthjwtOptions } from '../../src/kit/fastify.js'
import { makeApp } from '../helpers/backends.js'

/**
 * A route that asks for the kit (`config: { authjwt: true }`) is protected whatever the order in
 * which the application registers the kit and its routes; where the kit cannot reach it (another
 * encapsulated context), the application refuses to start and names the route.
 */

/** Our service (embedded), its key set for the kit, and one of its access tokens; one for the file. */
let service: ReturnType<typeof startOurs> | undefined
const ours = () => (service ??= startOurs(t))

async function startOurs(t: Test) {
  const app = await makeApp(t, 'embedded', {
    jwtAlgorithm: 'EdDSA',
    privateKey: generatePrivateKey('EdDSA'),
    signingKey: '',
  })
  const base = await app.app.listen({ port: 0, host: '127.0.0.1' })
  const user = await app.createUser()
  const { access } = await app.login(user.username, user.password)
  return { options: { jwksUrl: `${base}/.well-known/jwks.json`, redisUrl: false } as AuthjwtOptions, access }
}

const run = promisify(execFile)
const orders = { config: { authjwt: true } }
const handler = async () => ({ orders: ['secret'] })

/** The route answers 401 without a token and with a malformed one, 200 with our token. */
async function protectedRoute(t: Test, app: FastifyInstance, url: string, access: string) {
  await app.ready()
  for (const method of ['GET', 'HEAD'] as const) {
    const none = await app.inject({ method, url })
    t.equal(none.statusCode, 401, `${method} ${url} without a token: 401`)
    const bogus = await app.inject({ method, url, headers: { authorization: 'Bearer x.y.z' } })
    t.equal(bogus.statusCode, 401, `${method} ${url} with x.y.z: 401`)
  }
  const ok = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${access}` } })
  t.equal(ok.statusCode, 200, `GET ${url} with our token: 200`)
}

t.test('a route that asks for the kit is protected whatever the registration order', async (t) => {
  const { options, access } = await ours()

  await t.test('the kit registered without await, the route declared after', async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    app.register(authjwt, options)
    app.get('/orders', orders, handler)
    await protectedRoute(t, app, '/orders', access)
  })

  await t.test('a routes plugin registered before the kit', async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(
      async (routes) => {
        routes.get('/orders', orders, handler)
      },
      { prefix: '/shop' },
    )
    await app.register(authjwt, options)
    await protectedRoute(t, app, '/shop/orders', access)
  })

  await t.test('the route declared at the root before the kit', async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    app.route({ method: 'GET', url: '/orders', config: { authjwt: true }, handler })
    await app.register(authjwt, options)
    await protectedRoute(t, app, '/orders', access)
  })

  await t.test('the usual order still works', async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(authjwt, options)
    app.register(async (routes) => {
      routes.get('/orders', orders, handler)
    })
    await protectedRoute(t, app, '/orders', access)
  })
})

t.test('a route the kit cannot reach stops the application from starting, named', async (t) => {
  const { options } = await ours()

  await t.test('the kit in a sibling encapsulated context', async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    app.register(async (api) => {
      await api.register(authjwt, options)
      api.get('/api/orders', orders, handler)
    })
    app.register(async (shop) => {
      shop.get('/shop/orders', orders, handler)
    })
    await t.rejects(
      async () => app.ready(),
      { message: /GET \/shop\/orders/ },
      'ready() names the open route',
    )
    await t.rejects(async () => app.ready(), { message: /^(?![\s\S]*\/api\/orders)/ }, 'and only that one')
  })

  await t.test('no kit registered at all', async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    app.post('/payments', orders, handler)
    await t.rejects(async () => app.ready(), { message: /POST \/payments/ })
  })

  await t.test('a route without config.authjwt is no concern of the kit', async (t) => {
    const app = Fastify()
    t.teardown(() => app.close())
    app.get('/public', { config: { authjwt: false } }, handler)
    app.get('/health', handler)
    await app.ready()
    t.equal((await app.inject({ method: 'GET', url: '/public' })).statusCode, 200)
  })
})

t.test('a kit loaded after its Fastify instance was created says what it cannot check', async (t) => {
  const { options } = await ours()
  // A dynamic import after Fastify(): the kit never saw the routes added before it.
  const script = `
    import Fastify from 'fastify'
    const app = Fastify({ logger: { level: 'warn' } })
    app.get('/early', { config: { authjwt: true } }, async () => 'open')
    const { default: authjwt } = await import('./src/kit/fastify.ts')
    await app.register(authjwt, JSON.parse(process.env.KIT_OPTIONS))
    await app.close()
  `
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: process.cwd(),
    env: { ...process.env, KIT_OPTIONS: JSON.stringify(options) },
  })
  const warnings = stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { level: number; msg: string })
  t.match(warnings, [
    { level: 40, msg: /created before authjwt\/fastify was loaded.*import authjwt\/fastify before/ },
  ])
})
