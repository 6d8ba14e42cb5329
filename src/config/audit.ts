import type { Reader } from './read.js'

/** The security events and what watches them. */
export interface AuditConfig {
  /** Security events written to audit_events (and sent to webhooks); off: neither. */
  auditEnabled: boolean
  /** Longest an event waits in memory before its batch is written: what a crash can lose. */
  auditFlushMs: number
  /** `prune-audit` deletes rows older than this; 0 keeps everything. */
  auditRetentionDays: number
  /** Failed logins on one account within 15 minutes that raise `suspicious.failed_logins`. */
  failedLoginAlertThreshold: number
  /** Mail the user about a login from a new device or network, and refresh-token reuse. */
  suspiciousActivityMail: boolean
}

export function readAudit(read: Reader): AuditConfig {
  return {
    auditEnabled: read.bool('AUDIT_ENABLED', true),
    auditFlushMs: read.int('AUDIT_FLUSH_MS', 200, 10, 10_000),
    auditRetentionDays: read.int('AUDIT_RETENTION_DAYS', 180, 0, 36_500),
    failedLoginAlertThreshold: read.int('FAILED_LOGIN_ALERT_THRESHOLD', 10, 0, 1_000_000),
    suspiciousActivityMail: read.bool('SUSPICIOUS_ACTIVITY_MAIL', false),
  }
}
