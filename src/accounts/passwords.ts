import { availableParallelism } from 'node:os'
import { Algorithm, hash, parseOptions, verify } from '@node-rs/argon2'
import type { Argon2Params, LegacyPasswordHashes } from '../config/accounts.js'
import { hashProblem } from '../django/hash-limits.js'
import { hashFormat, LEGACY_FORMATS, verifyDjangoHash } from '../django/hashes.js'
import { HashingSlots } from './hashing-slots.js'

/**
 * argon2id with the configured cost (OWASP: m=19456 KiB, t=2, p=1), through @node-rs/argon2:
 * measured about twice as fast as the `argon2` binding at the same parameters on the bench machine
 * (bench/README.md), and both read and write the same PHC strings, so stored hashes stay
 * interchangeable. It runs on libuv's thread pool, so the event loop keeps serving during a login.
 *
 * At most one hash per core runs at a time, and an account holds no more than its share of them
 * while others wait (src/accounts/hashing-slots.ts).
 */
// How much the slowest check remembered shrinks at each new check: slow formats fade from the
// failure timing within a few hundred logins once nobody presents them.
const SLOWEST_DECAY = 0.98
// A failure waits at most as long as this many of our own argon2id checks: Django's own defaults
// (pbkdf2_sha256 at 1,000,000 iterations, bcrypt at cost 12) cost about 20 to 30 of them at
// OWASP's settings, so their users still fail as fast as anyone; a costlier hash, even one the
// bounds allow, shows in its own failures only, never in everybody's.
const PADDING_OWN_CHECKS = 32

/** One password check: whose turn it takes at the slots, and how long it held them. */
interface Check {
  account: string
  ms: number
}

export class PasswordHasher {
  private dummyHash: Promise<string> | undefined
  private slowestMs = 0
  private ownCheckMs = 0
  private readonly slots: HashingSlots
  readonly concurrency: number
  private readonly options: {
    algorithm: Algorithm
    memoryCost: number
    timeCost: number
    parallelism: number
  }

  constructor(
    private readonly params: Argon2Params,
    concurrency = availableParallelism(),
    private readonly legacy: LegacyPasswordHashes = 'accept',
  ) {
    this.concurrency = Math.max(1, concurrency)
    this.slots = new HashingSlots(this.concurrency)
    this.options = {
      algorithm: Algorithm.Argon2id,
      memoryCost: params.memoryKiB,
      timeCost: params.timeCost,
      parallelism: params.parallelism,
    }
  }

  hash(password: string): Promise<string> {
    return this.slots.run(() => hash(password, this.options))
  }

  /**
   * False for a wrong password and for a stored value no password matches. Besides ours, reads
   * every hash Django writes (src/django/hashes.ts), so users imported from Django keep their
   * passwords until their first login replaces the hash (needsRehash). Whatever the format, a
   * check costs at least one argon2id verification, so the answer's timing does not tell a weak
   * legacy hash, an unusable password or a refused format from ours. A hash beyond the bounds
   * (src/django/hash-limits.ts) is refused so, without being hashed. `account` (the throttle's
   * name for it) takes its turn at the slots with the other accounts (src/accounts/hashing-slots.ts).
   */
  async verify(stored: string, password: string, account = ''): Promise<boolean> {
    const check = { account, ms: 0 }
    const ok = await this.verifyAnyFormat(stored, password, check)
    this.slowestMs = Math.max(check.ms, this.slowestMs * SLOWEST_DECAY)
    return ok
  }

  /**
   * Spends the same time as a real check, for unknown users, so that a failed login takes as long
   * whether or not the account exists. `account`: as for verify.
   */
  async verifyDummy(password: string, account = ''): Promise<false> {
    const check = { account, ms: 0 }
    await this.spendOneCheck(password, check)
    this.slowestMs = Math.max(check.ms, this.slowestMs * SLOWEST_DECAY)
    return false
  }

  /**
   * Waits until a failed login has taken as long as the slowest check lately (the time it held a
   * slot), but no longer than PADDING_OWN_CHECKS of ours. A Django hash can cost several argon2id
   * checks (pbkdf2_sha256 at 260,000 iterations, bcrypt at cost 12), so without this a wrong
   * password would tell a user still on a Django hash from one on ours, and both from an unknown
   * user. Waiting costs no CPU, so a flood of failures cannot use it.
   */
  async failSlowly(startedMs: number): Promise<void> {
    const target = Math.min(this.slowestMs, this.ownCheckMs * PADDING_OWN_CHECKS)
    const left = target - (performance.now() - startedMs)
    if (left > 0) await new Promise((resolve) => setTimeout(resolve, left))
  }

  private async verifyAnyFormat(stored: string, password: string, check: Check): Promise<boolean> {
    const format = hashFormat(stored)
    const usable =
      format !== 'unusable' &&
      format !== 'unknown' &&
      !(this.legacy === 'refuse' && LEGACY_FORMATS.has(format)) &&
      hashProblem(stored, this.params) === undefined
    if (usable && format === 'argon2id') {
      const ours = !this.needsRehash(stored)
      return this.inSlot(check, () => verify(stored, password).catch(() => false), ours)
    }
    const ok = usable && (await this.inSlot(check, () => verifyDjangoHash(stored, password)))
    if (!usable || LEGACY_FORMATS.has(format)) await this.spendOneCheck(password, check)
    return ok
  }

  /** One argon2id verification against a hash no password matches. */
  private async spendOneCheck(password: string, check: Check): Promise<void> {
    this.dummyHash ??= this.hash('dummy password for timing uniformity')
    const dummy = await this.dummyHash
    await this.inSlot(check, () => verify(dummy, password).catch(() => false), true)
  }

  /** `work` in a slot, in the check's account's turn; `own`: an argon2id check at our settings. */
  private inSlot<T>(check: Check, work: () => Promise<T>, own = false): Promise<T> {
    return this.slots.run(work, check.account, (ms) => {
      check.ms += ms
      // A running mean, not a maximum: one check slowed by a busy machine must not lift the cap.
      if (own) this.ownCheckMs = this.ownCheckMs === 0 ? ms : this.ownCheckMs * 0.9 + ms * 0.1
    })
  }

  /** True when a stored hash is Django's or was made with other parameters: replaced at next login. */
  needsRehash(stored: string): boolean {
    const format = hashFormat(stored)
    if (format === 'unusable' || format === 'unknown') return false
    // A Django hash that just verified is replaced by ours.
    if (format !== 'argon2id') return true
    try {
      const o = parseOptions(stored)
      return (
        o.algorithm !== Algorithm.Argon2id ||
        o.memoryCost !== this.params.memoryKiB ||
        o.timeCost !== this.params.timeCost ||
        o.parallelism !== this.params.parallelism
      )
    } catch {
      return false
    }
  }
}
