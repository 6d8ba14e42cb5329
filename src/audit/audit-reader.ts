import type { CurrentUser } from '../accounts/current-user.js'
import { reachOf } from '../accounts/scope.js'
import type { Repositories } from '../repositories.js'
import { FieldErrors } from '../http/errors.js'
import type { Principal } from '../tokens/claims.js'
import type { AuditRow } from './audit-repository.js'
import { type AuditType, isAuditType } from './events.js'

export interface AuditFilter {
  userId?: number
  /** Comma-separated event types. */
  type?: string
  ip?: string
  since?: string
  until?: string
  cursor?: string
  pageSize?: number
}

export const MAX_AUDIT_PAGE = 200

/**
 * Staff read the audit trail: a superuser every row, other staff the rows about their tenant's
 * users (as with sessions and users). Newest first; a page ends with the cursor of the next one,
 * so paging stays exact while new events arrive.
 */
export class AuditReader {
  constructor(private readonly d: { repos: Repositories; currentUser: CurrentUser }) {}

  async list(
    principal: Principal,
    filter: AuditFilter,
  ): Promise<{ rows: AuditRow[]; nextCursor: string | null }> {
    const actor = await this.d.currentUser.operator(principal)
    const limit = Math.min(filter.pageSize ?? 50, MAX_AUDIT_PAGE)
    const rows = await this.d.repos.audit.list({
      userId: filter.userId,
      types: parseTypes(filter.type),
      ip: filter.ip?.trim() || undefined,
      from: filter.since ? new Date(filter.since) : undefined,
      to: filter.until ? new Date(filter.until) : undefined,
      before: filter.cursor ? Number(filter.cursor) : undefined,
      // The rows about an account follow the rule of every staff action on it (scope.ts).
      tenantId: reachOf(actor).tenant,
      superusers: reachOf(actor).superusers,
      limit: limit + 1,
    })
    const more = rows.length > limit
    const page = more ? rows.slice(0, limit) : rows
    return { rows: page, nextCursor: more ? String(page[page.length - 1]!.id) : null }
  }
}

function parseTypes(raw: string | undefined): AuditType[] | undefined {
  const names = raw
    ?.split(',')
    .map((t) => t.trim())
    .filter(Boolean)
  if (!names?.length) return undefined
  const bad = names.filter((n) => !isAuditType(n))
  if (bad.length) {
    throw new FieldErrors({ type: bad.map((n) => `"${n.slice(0, 60)}" is not a valid choice.`) })
  }
  return names as AuditType[]
}
