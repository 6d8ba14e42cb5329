import { availableParallelism } from 'node:os'
import { Algorithm, hash, parseOptions, verify } from '@node-rs/argon2'
import type { Argon2Params, LegacyPasswordHashes } from '../config.js'
import { hashFormat, LEGACY_FORMATS, verifyDjangoHash } from '../django/hashes.js'

/**
 * argon2id with the configured cost (OWASP: m=19456 KiB, t=2, p=1), through @node-rs/argon2:
 * measured about twice as fast as the `argon2` binding at the same parameters on the bench machine
 * (bench/README.md), and both read and write the same PHC strings, so stored hashes stay
 * interchangeable. It runs on libuv's thread pool, so the event loop keeps serving during a login.
 *
 * At most one hash per core runs at a time; the rest wait here. More in flight cannot go faster
 * (each hash keeps a core busy), but each holds m KiB (19 MiB) and a pool thread that file and DNS
 * work also need: the cap keeps memory under load flat and the pool responsive.
 */
// How much the slowest check remembered shrinks at each new check: slow formats fade from the
// failure timing within a few hundred logins once nobody presents them.
const SLOWEST_DECAY = 0.98

export class PasswordHasher {
  private dummyHash: Promise<string> | undefined
  private slowestMs = 0
  private running = 0
  private readonly waiting: (() => void)[] = []
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
    this.options = {
      algorithm: Algorithm.Argon2id,
      memoryCost: params.memoryKiB,
      timeCost: params.timeCost,
      parallelism: params.parallelism,
    }
  }

  private async limited<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) await new Promise<void>((resolve) => this.waiting.push(resolve))
    else this.running += 1
    try {
      return await work()
    } finally {
      // Hand the slot straight to the next waiter, or free it.
      const next = this.waiting.shift()
      if (next) next()
      else this.running -= 1
    }
  }

  hash(password: string): Promise<string> {
    return this.limited(() => hash(password, this.options))
  }

  /**
   * False for a wrong password and for a stored value no password matches. Besides ours, reads
   * every hash Django writes (src/django/hashes.ts), so users imported from Django keep their
   * passwords until their first login replaces the hash (needsRehash). Whatever the format, a
   * check costs at least one argon2id verification, so the answer's timing does not tell a weak
   * legacy hash, an unusable password or a refused format from ours.
   */
  async verify(stored: string, password: string): Promise<boolean> {
    const started = performance.now()
    const ok = await this.verifyAnyFormat(stored, password)
    this.slowestMs = Math.max(performance.now() - started, this.slowestMs * SLOWEST_DECAY)
    return ok
  }

  /**
   * Waits until a failed login has taken as long as the slowest check lately. A Django hash can
   * cost several argon2id checks (pbkdf2_sha256 at 260,000 iterations, bcrypt at cost 12), so
   * without this a wrong password would tell a user still on a Django hash from one on ours, and
   * both from an unknown user. Waiting costs no CPU, so a flood of failures cannot use it.
   */
  async failSlowly(startedMs: number): Promise<void> {
    const left = this.slowestMs - (performance.now() - startedMs)
    if (left > 0) await new Promise((resolve) => setTimeout(resolve, left))
  }

  private async verifyAnyFormat(stored: string, password: string): Promise<boolean> {
    const format = hashFormat(stored)
    if (format === 'argon2id') return this.limited(() => verify(stored, password)).catch(() => false)
    const usable =
      format !== 'unusable' &&
      format !== 'unknown' &&
      !(this.legacy === 'refuse' && LEGACY_FORMATS.has(format))
    const ok = usable && (await this.limited(() => verifyDjangoHash(stored, password)))
    if (!usable || LEGACY_FORMATS.has(format)) await this.spendOneCheck(password)
    return ok
  }

  /** One argon2id verification against a hash no password matches. */
  private async spendOneCheck(password: string): Promise<void> {
    this.dummyHash ??= this.hash('dummy password for timing uniformity')
    const dummy = await this.dummyHash
    await this.limited(() => verify(dummy, password)).catch(() => false)
  }

  /**
   * Spends the same time as a real check, for unknown users, so that a failed login takes as long
   * whether or not the account exists.
   */
  async verifyDummy(password: string): Promise<false> {
    const started = performance.now()
    await this.spendOneCheck(password)
    this.slowestMs = Math.max(performance.now() - started, this.slowestMs * SLOWEST_DECAY)
    return false
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
