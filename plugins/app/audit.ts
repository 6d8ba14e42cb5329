import fp from 'fastify-plugin'
import { AuditLog } from '../../src/audit/audit-log.js'
import { SuspiciousActivity } from '../../src/audit/suspicious.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The audit trail (src/audit/audit-log.ts): services record, a timer writes. */
    audit: AuditLog
  }
}

/**
 * The audit trail and what watches it. It is written after the services that record into it have
 * closed (onClose hooks run in reverse order of registration), so a clean shutdown loses nothing.
 */
export default fp(
  async (app) => {
    const { config, repos } = app
    const audit = new AuditLog(app.database.db, repos.audit, {
      flushMs: config.auditFlushMs,
      enabled: config.auditEnabled,
      onError: (err, pending) => app.log.error({ err, pending }, 'audit events not written yet; will retry'),
      // Once per event, naming it but not its values (they are what the database refused).
      onSetAside: (record, sqlstate, id) =>
        app.log.error(
          { event_type: record.type, sqlstate, dead_letter_id: id, request_id: record.requestId },
          id === null
            ? 'the database refused an audit event, and its dead letter too: the event is lost'
            : 'the database refused an audit event: set aside in audit_dead_letters, the rest written',
        ),
    })
    audit.addDetector(
      new SuspiciousActivity({
        repos,
        failedLoginThreshold: config.failedLoginAlertThreshold,
        mail: config.suspiciousActivityMail && config.mailEnabled,
      }),
    )
    audit.addSink({ write: async () => {}, committed: () => app.mailer.kick() })
    app.decorate('audit', audit)
    app.addHook('onClose', () => audit.close())
  },
  { name: 'audit', dependencies: ['config', 'database', 'mail'] },
)
