import type { Config } from './config/index.js'
import { usesRedis } from './config/redis.js'

/**
 * What the start-up log says about the optional features: each one that is off, and why, in the
 * operator's terms (the variable that turns it on). An operator reading one line knows why a
 * password reset answers 404 or why /metrics is not there, before a user tells them.
 */
export function featuresOff(config: Config): string[] {
  const off: string[] = []
  if (!config.mailEnabled) {
    off.push('mail (password reset, e-mail verification, alerts): no SMTP_URL in production')
  }
  if (!config.auditEnabled) off.push('audit trail, webhooks and alerts: AUDIT_ENABLED=false')
  else if (!config.suspiciousActivityMail || !config.mailEnabled) {
    off.push('mail to users about new devices and failed logins: SUSPICIOUS_ACTIVITY_MAIL is not on')
  }
  if (config.metricsPort === 0 && config.metricsToken === undefined) {
    off.push('metrics: set METRICS_PORT or METRICS_TOKEN')
  }
  if (Object.keys(config.introspectionClients).length === 0) {
    off.push(
      'introspection by services (HTTP Basic): no INTROSPECTION_CLIENTS; staff tokens still introspect',
    )
  }
  return off
}

/**
 * What is legal but risky in production, said loudly (a warning) at every start: the embedded
 * backends (allowed only with ALLOW_EMBEDDED_IN_PRODUCTION=true), webhooks into this network.
 */
export function productionWarnings(config: Config): string[] {
  if (config.env !== 'production') return []
  const warnings: string[] = []
  if (!config.databaseUrl) {
    warnings.push(
      `production on the embedded database (ALLOW_EMBEDDED_IN_PRODUCTION=true): every account lives in ${config.dataDir}/pglite, on this machine only; back it up, and run one instance`,
    )
  }
  if (!usesRedis(config)) {
    warnings.push(
      'production on the in-process revocation store (ALLOW_EMBEDDED_IN_PRODUCTION=true): revocations hold in this process only; run one instance',
    )
  }
  if (config.webhooksAllowPrivate) {
    warnings.push(
      'WEBHOOKS_ALLOW_PRIVATE=true: webhooks may target this network (loopback and private addresses)',
    )
  }
  return warnings
}
