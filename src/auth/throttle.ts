import { errors } from '../http/errors.js'
import type { RevocationStore } from '../revocation/store.js'

export interface AttemptLimits {
  /** Attempts per account from one client address, per window; 0: no limit. */
  perAccountAndIp: number
  /** Attempts per account from all addresses together, per window; 0: no limit. */
  perAccount: number
  windowSeconds: number
  /** Mails asked for one address per hour (reset, verification); 0: no limit. */
  perMailAddress?: number
  /** Mails asked for from one client address per hour; 0: no limit. */
  perMailIp?: number
}

/**
 * Limits guesses at a password. Counters are kept per account, never per route or per spelling:
 * every login path, both content types, and a username or e-mail naming the same user spend one
 * budget. One budget per account and client address keeps one attacker from locking everybody
 * out; a second per account across addresses stops a guesser spread over many. Counters live in
 * the revocation store, so every instance shares them, and a store that cannot count refuses
 * (503): credentials are never checked unthrottled.
 *
 * Why these counters are ours and not @fastify/rate-limit's (which runs every request throttle,
 * plugins/app/throttles.ts): the plugin keys a request before its handler runs, from the request
 * alone. The account a login names is known only once the handler has resolved the identifier
 * (username or e-mail, any case) to a user in the database, and the same budget is spent by steps
 * that are not requests of their own (a second-factor code, a password change's current
 * password). The mail limits are spent only when a mail would be sent (a resend for an address
 * already verified costs nothing) and share one counter per address between the reset request
 * and the caller's resend, whose address is the loaded user's. Both count in the store the
 * plugin's counters use (src/revocation/throttle-store.ts).
 */
export class Throttle {
  constructor(
    private readonly store: RevocationStore,
    private readonly limits: AttemptLimits,
  ) {}

  /**
   * One attempt at an account's password. `account` names the user the identifier resolved to,
   * or the identifier normalized when it names nobody (so probing unknown names costs the same).
   */
  attempt(account: string, ip: string | undefined): Promise<void> {
    const { perAccountAndIp, perAccount } = this.limits
    const counters: [string, number][] = []
    if (perAccountAndIp > 0) counters.push([`a:${account}|${ip ?? ''}`, perAccountAndIp])
    if (perAccount > 0) counters.push([`a:${account}`, perAccount])
    return this.spend(counters, this.limits.windowSeconds)
  }

  /**
   * A request that sends mail (password reset, verification resend): limited per address and per
   * client address over an hour, whether or not the address belongs to anyone, so the limit tells
   * nothing either.
   */
  mailRequest(address: string, ip: string | undefined): Promise<void> {
    const { perMailAddress = 5, perMailIp = 30 } = this.limits
    const counters: [string, number][] = []
    if (perMailAddress > 0) counters.push([`m:${address.trim().toLowerCase()}`, perMailAddress])
    if (perMailIp > 0 && ip) counters.push([`mi:${ip}`, perMailIp])
    return this.spend(counters, 3600)
  }

  private async spend(counters: [name: string, max: number][], windowSeconds: number): Promise<void> {
    if (counters.length === 0) return
    const windowMs = windowSeconds * 1000
    const states = await this.store.hit(
      counters.map(([name]) => name),
      windowMs,
    )
    let waitMs = 0
    states.forEach((state, i) => {
      if (state.count > counters[i]![1]) waitMs = Math.max(waitMs, state.resetInMs)
    })
    if (waitMs > 0) throw errors.throttled(Math.max(1, Math.ceil(waitMs / 1000)))
  }
}

/** The throttle's account name for a login identifier: a user id, or the identifier itself. */
export function accountKey(userId: number | undefined, identifier: string): string {
  return userId !== undefined ? `u:${userId}` : `n:${identifier.trim().toLowerCase()}`
}
