import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyInstance, LogController } from 'fastify'
import formbody from '@fastify/formbody'
import authenticate from '../plugins/app/authenticate.js'
import configPlugin from '../plugins/app/config.js'
import database from '../plugins/app/database.js'
import adminConsole from '../plugins/external/console.js'
import audit from '../plugins/app/audit.js'
import docs from '../plugins/external/docs.js'
import errorHandler, { clientErrorHandler } from '../plugins/external/error-handler.js'
import inFlight from '../plugins/external/in-flight.js'
import jsonBody from '../plugins/external/json-body.js'
import keys from '../plugins/app/keys.js'
import mail from '../plugins/app/mail.js'
import metrics from '../plugins/app/metrics.js'
import methodNotAllowed from '../plugins/external/method-not-allowed.js'
import revocationStore from '../plugins/app/revocation-store.js'
import security from '../plugins/external/security.js'
import services from '../plugins/app/services.js'
import validation from '../plugins/external/validation.js'
import webhooks from '../plugins/app/webhooks.js'
import accountRoutes from '../routes/account.js'
import adminRoutes from '../routes/admin.js'
import auditRoutes from '../routes/audit.js'
import introspectionRoutes from '../routes/introspection.js'
import discoveryRoutes from '../routes/discovery.js'
import mailRoutes from '../routes/mail.js'
import mfaRoutes from '../routes/mfa.js'
import metricsRoutes from '../routes/metrics.js'
import mailPages from '../routes/mail-pages.js'
import healthRoutes from '../routes/health.js'
import homeRoutes from '../routes/home.js'
import sessionRoutes from '../routes/sessions.js'
import tokenRoutes from '../routes/tokens.js'
import userRoutes from '../routes/users.js'
import webhookRoutes from '../routes/webhooks.js'
import type { Config } from './config/index.js'
import type { Database } from './database/database.js'
import { fastifyTrustProxy } from './http/client-ip.js'
import { echoRequestId, requestIdGenerator } from './http/request-id.js'
import { loggerOptions } from './log.js'
import type { RevocationStore } from './revocation/store.js'

export interface BuildOptions {
  /** An open database to use instead of the configured one (tests, CLI). */
  database?: Database
  /** A revocation store to use instead of the configured one (tests). */
  store?: RevocationStore
  /** Pino options; defaults to the configured level with secrets redacted. */
  logger?: boolean | Record<string, unknown>
}

/**
 * Composes plugins and routes: the one place that knows how the service fits together, and the
 * only file in src/ that imports from plugins/ or routes/. Plugins load in two layers, cross-cutting
 * (plugins/external/) then the application's (plugins/app/), all before the routes, whose onRoute
 * hooks (in-flight, metrics, authenticate, method-not-allowed, docs) must see every route.
 */
export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? loggerOptions(config),
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    bodyLimit: config.bodyLimit,
    clientErrorHandler,
    // A number of hops or the proxies' addresses, never every hop (src/config/server.ts); request.ip may
    // still be whatever a trusted proxy passed on: src/http/client-ip.ts keeps only a valid address.
    trustProxy: fastifyTrustProxy(config.trustProxy),
    // x-request-id: the trusted proxy's when safe, else a UUID (src/http/request-id.ts); logged as reqId.
    requestIdHeader: false,
    genReqId: requestIdGenerator(config.trustProxy !== false),
    // Per-request lines only when debugging: at thousands of requests a second they cost throughput.
    logController: new LogController({
      disableRequestLogging: config.logLevel !== 'debug' && config.logLevel !== 'trace',
    }),
    ajv: { customOptions: { allErrors: true } },
    // A first start on PGlite (create the cluster, migrate) can outlast the 10 s default on a slow machine.
    pluginTimeout: 120_000,
  }).withTypeProvider<TypeBoxTypeProvider>()
  app.addHook('onRequest', echoRequestId)

  // Cross-cutting plugins (plugins/external/): what any Fastify service of ours would have. They
  // come first, so their onRoute hooks and handlers see every route; the two that answer with the
  // application's decorations (the audit trail, authentication) read them per request, not here.
  await app.register(inFlight)
  await app.register(validation)
  await app.register(jsonBody)
  await app.register(formbody, { bodyLimit: config.bodyLimit })
  await app.register(errorHandler)
  await app.register(methodNotAllowed)
  await app.register(security, { config })
  await app.register(docs)

  // The application's plugins (plugins/app/), each naming the ones it depends on.
  await app.register(configPlugin, { config })
  await app.register(database, { database: options.database })
  await app.register(revocationStore, { store: options.store })
  await app.register(keys)
  await app.register(mail)
  await app.register(audit)
  // Before services, which take the revocation store it times; before every route it counts.
  await app.register(metrics)
  await app.register(services)
  await app.register(webhooks)
  await app.register(authenticate)

  await app.register(healthRoutes)
  await app.register(tokenRoutes)
  await app.register(accountRoutes)
  await app.register(userRoutes)
  await app.register(sessionRoutes)
  await app.register(adminRoutes)
  await app.register(webhookRoutes)
  await app.register(auditRoutes)
  await app.register(introspectionRoutes)
  await app.register(discoveryRoutes)
  await app.register(mailRoutes)
  await app.register(mfaRoutes)
  await app.register(metricsRoutes)
  await app.register(mailPages)
  await app.register(adminConsole)
  await app.register(homeRoutes)
  return app
}
