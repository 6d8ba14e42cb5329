import { errors } from '../http/errors.js'

/** Who acts: enough of a user to decide what they may see. */
export interface Actor {
  id: number
  isStaff: boolean
  isSuperuser: boolean
  clientId: number | null
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
