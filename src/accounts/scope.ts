import { errors } from '../http/errors.js'

/** Who acts: enough of a user to decide what they may see. */
export interface Actor {
  id: number
  isStaff: boolean
  isSuperuser: boolean
  clientId: number | null
}

/** The account a staff action is about: its tenant and whether it is a superuser. */
export interface Target {
  clientId: number | null
  isSuperuser: boolean
}

/** Staff, or a superuser (who may lack the staff flag, as Django's createsuperuser never does). */
export function isOperator(actor: Actor): boolean {
  return actor.isStaff || actor.isSuperuser
}

export function requireOperator(actor: Actor): void {
  if (!isOperator(actor)) throw errors.permissionDenied()
}

export function requireSuperuser(actor: Actor): void {
  if (!actor.isSuperuser) throw errors.permissionDenied()
}

/**
 * The tenant an operator's lists are limited to: undefined for a superuser (everything), else the
 * operator's own client (null: the users without one).
 */
export function tenantOf(actor: Actor): number | null | undefined {
  return actor.isSuperuser ? undefined : actor.clientId
}

/** Whether the operator may see a user (or a session of one) of the given tenant. */
export function inScope(actor: Actor, clientId: number | null): boolean {
  const tenant = tenantOf(actor)
  return tenant === undefined || tenant === clientId
}

/**
 * THE rule of every staff action on another account, and of every staff read of its sessions and
 * audit rows: the account is in the operator's tenant (else, to them, it does not exist: 404), and
 * a superuser's account is a superuser's business only (403), so a tenant's staff can neither lock
 * out, log out, reset nor watch the service's superusers. Lists apply the same rule as a filter
 * (`Reach`, src/accounts/sql-helpers.ts).
 */
export function manageable(actor: Actor, target: Target): 'yes' | 'not_found' | 'forbidden' {
  if (!inScope(actor, target.clientId)) return 'not_found'
  if (target.isSuperuser && !actor.isSuperuser) return 'forbidden'
  return 'yes'
}

/** `manageable`, as the API answers it. */
export function requireManageable<T extends Target>(
  actor: Actor,
  target: T | undefined,
): asserts target is T {
  const verdict = target ? manageable(actor, target) : 'not_found'
  if (verdict === 'not_found') throw errors.notFound()
  if (verdict === 'forbidden') throw errors.permissionDenied()
}

/** The accounts an operator's lists show: `manageable` as a filter. */
export interface Reach {
  /** undefined: every tenant; null: the users without one. */
  tenant: number | null | undefined
  /** Whether superusers' rows are shown. */
  superusers: boolean
}

export function reachOf(actor: Actor): Reach {
  return { tenant: tenantOf(actor), superusers: actor.isSuperuser }
}
