import { Algorithm, hash, parseOptions, verify } from '@node-rs/argon2'
import type { Argon2Params } from './config.js'

/**
 * argon2id with the configured cost (OWASP: m=19456 KiB, t=2, p=1), through @node-rs/argon2:
 * measured about twice as fast as the `argon2` binding at the same parameters on the bench machine
 * (bench/README.md), and both read and write the same PHC strings, so stored hashes stay
 * interchangeable. It runs on libuv's thread pool, so the event loop keeps serving during a login.
 */
export class PasswordHasher {
  private dummyHash: Promise<string> | undefined
  private readonly options: {
    algorithm: Algorithm
    memoryCost: number
    timeCost: number
    parallelism: number
  }

  constructor(private readonly params: Argon2Params) {
    this.options = {
      algorithm: Algorithm.Argon2id,
      memoryCost: params.memoryKiB,
      timeCost: params.timeCost,
      parallelism: params.parallelism,
    }
  }

  hash(password: string): Promise<string> {
    return hash(password, this.options)
  }

  /** False for a wrong password and for a stored value that is not a hash we can read. */
  async verify(stored: string, password: string): Promise<boolean> {
    try {
      return await verify(stored, password)
    } catch {
      return false
    }
  }

  /**
   * Spends the same time as a real check, for unknown users, so that a failed login takes as long
   * whether or not the account exists.
   */
  async verifyDummy(password: string): Promise<false> {
    this.dummyHash ??= this.hash('dummy password for timing uniformity')
    await this.verify(await this.dummyHash, password)
    return false
  }

  /** True when a stored hash was made with other parameters and should be replaced at next login. */
  needsRehash(stored: string): boolean {
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
