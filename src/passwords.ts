import argon2 from 'argon2'
import type { Argon2Params } from './config.js'

/**
 * argon2id with the configured cost (OWASP: m=19456 KiB, t=2, p=1). The native binding hashes
 * on libuv's thread pool, so the event loop keeps serving while a login is verified.
 */
export class PasswordHasher {
  private dummyHash: Promise<string> | undefined

  constructor(private readonly params: Argon2Params) {}

  private get options() {
    return {
      type: argon2.argon2id as 0 | 1 | 2,
      memoryCost: this.params.memoryKiB,
      timeCost: this.params.timeCost,
      parallelism: this.params.parallelism,
    }
  }

  hash(password: string): Promise<string> {
    return argon2.hash(password, this.options)
  }

  /** False for a wrong password and for a stored value that is not a hash we can read. */
  async verify(hash: string, password: string): Promise<boolean> {
    try {
      return await argon2.verify(hash, password)
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
  needsRehash(hash: string): boolean {
    try {
      return argon2.needsRehash(hash, this.options)
    } catch {
      return false
    }
  }
}
