import type { SessionRow } from '../../schema/db.js'

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null)

/** A session as the contract shows it; `is_current` when it is the caller's own. */
export function sessionBody(session: SessionRow, currentSid?: number) {
  return {
    id: session.id,
    user_id: session.userId,
    client_type: session.clientType,
    device_name: session.deviceName,
    telegram_user_id: session.telegramUserId,
    telegram_username: session.telegramUsername,
    created_at: session.createdAt.toISOString(),
    last_activity: session.lastActivity.toISOString(),
    expires_at: session.expiresAt.toISOString(),
    ip_address: session.ipAddress,
    user_agent: session.userAgent,
    is_active: session.isActive,
    is_current: currentSid !== undefined && session.id === currentSid,
    revoked_at: iso(session.revokedAt),
    revoked_reason: session.revokedReason,
  }
}
