import { isIP } from 'node:net'
import type { Db } from '../database/database.js'
import type { Repositories } from '../repositories.js'
import type { AuditRecord, EventDetector, StoredEvent } from './events.js'
import { FAILED_LOGIN_TYPES } from './audit-repository.js'
import { sightingsOf } from './known-devices.js'
import { describeUserAgent } from './user-agent.js'

export interface SuspiciousActivityDeps {
  repos: Repositories
  /** Failed logins on one account within the window that raise an alert; 0: never. */
  failedLoginThreshold: number
  /** Mail the user about each alert (through the mail outbox, in the same transaction). */
  mail: boolean
}

/** The window failed logins are counted over. */
export const FAILED_LOGIN_WINDOW_MS = 15 * 60_000

const WHAT: Record<string, string> = {
  'suspicious.new_device': 'a login from a device or network not seen before',
  'suspicious.refresh_reuse': 'a stolen refresh token being used (the session was ended)',
  'suspicious.failed_logins': 'many failed login attempts (wrong passwords or two-factor codes)',
}

/**
 * Turns written events into alerts: a login from a device or network the user was never seen
 * from (not their first login), a refresh token presented again after it was spent, failed
 * logins (wrong passwords and wrong codes) on one account reaching the threshold within 15
 * minutes (once per crossing, not on every failure after it), and the wrong code that locks an
 * account's two-factor logins for the day. Each alert is an event of its own: an audit row, webhooks, and
 * optionally a mail to the user.
 */
export class SuspiciousActivity implements EventDetector {
  constructor(private readonly d: SuspiciousActivityDeps) {}

  async detect(tx: Db, events: StoredEvent[]): Promise<AuditRecord[]> {
    const alerts: AuditRecord[] = []
    for (const event of events) {
      if (event.type === 'token.reuse_detected') alerts.push(alert(event, 'suspicious.refresh_reuse', {}))
    }
    const logins = events.filter((e) => e.type === 'login.succeeded' && e.userId != null)
    const seen = await this.d.repos.knownDevices.rememberAll(
      logins.map((e) => ({ userId: e.userId!, sightings: sightingsOf(e.ip, e.userAgent), at: e.at })),
      tx,
    )
    seen.forEach((s, i) => {
      if (s.firstLogin || s.unseen.length === 0) return
      const details = { new_device: s.unseen.includes('device'), new_network: s.unseen.includes('network') }
      alerts.push(alert(logins[i]!, 'suspicious.new_device', details))
    })
    alerts.push(...(await this.failedLogins(tx, events)))
    if (this.d.mail && alerts.length > 0) await this.mailUsers(tx, alerts)
    return alerts
  }

  private async failedLogins(tx: Db, events: StoredEvent[]): Promise<AuditRecord[]> {
    const threshold = this.d.failedLoginThreshold
    const lastOf = new Map<number, StoredEvent>()
    const inBatch = new Map<number, number>()
    // A wrong code that reached the day's cap (MFA_DAILY_FAILURE_LIMIT) locked the account's
    // two-factor logins: an alert of its own, whatever the 15-minute count says.
    const locks = new Map<number, StoredEvent>()
    for (const e of events) {
      if (!FAILED_LOGIN_TYPES.includes(e.type) || e.userId == null) continue
      lastOf.set(e.userId, e)
      inBatch.set(e.userId, (inBatch.get(e.userId) ?? 0) + 1)
      if (e.type === 'mfa.failed' && e.details?.locked === true) locks.set(e.userId, e)
    }
    const alerts: AuditRecord[] = []
    for (const lock of locks.values()) {
      const details = { failures: lock.details?.failures_today, window_hours: 24, second_factor_locked: true }
      alerts.push(alert(lock, 'suspicious.failed_logins', details))
    }
    if (threshold <= 0 || lastOf.size === 0) return alerts
    const since = new Date(Date.now() - FAILED_LOGIN_WINDOW_MS)
    const totals = await this.d.repos.audit.failedLogins([...lastOf.keys()], since, tx)
    for (const [userId, last] of lastOf) {
      const total = totals.get(userId) ?? 0
      const before = total - (inBatch.get(userId) ?? 0)
      if (before < threshold && total >= threshold && !locks.has(userId)) {
        alerts.push(alert(last, 'suspicious.failed_logins', { failures: total, window_minutes: 15 }))
      }
    }
    return alerts
  }

  private async mailUsers(tx: Db, alerts: AuditRecord[]): Promise<void> {
    const ids = [...new Set(alerts.map((a) => a.userId).filter((id): id is number => id != null))]
    if (ids.length === 0) return
    const rows = await this.d.repos.users.contacts(ids, tx)
    const byId = new Map(rows.map((r) => [r.id, r]))
    for (const a of alerts) {
      const user = a.userId != null ? byId.get(a.userId) : undefined
      if (!user?.email) continue
      // What the request said about itself is the client's text: the mail shows an address only
      // if it is one, and the user agent only as a browser and system from a fixed list.
      const data = {
        username: user.username,
        what: WHAT[a.type] ?? a.type,
        time: a.at.toISOString(),
        ip: a.ip && isIP(a.ip) ? a.ip : 'an unknown address',
        agent: describeUserAgent(a.userAgent),
      }
      await this.d.repos.outbox.add({ recipient: user.email, template: 'suspicious-activity', data }, tx)
    }
  }
}

function alert(cause: StoredEvent, type: AuditRecord['type'], details: Record<string, unknown>): AuditRecord {
  return {
    type,
    at: cause.at,
    userId: cause.userId ?? null,
    sessionId: cause.sessionId ?? null,
    actorId: null,
    clientId: cause.clientId ?? null,
    ip: cause.ip,
    userAgent: cause.userAgent,
    requestId: cause.requestId,
    details: { ...details, cause_event_id: cause.id },
  }
}
