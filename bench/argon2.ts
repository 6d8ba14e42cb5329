import { availableParallelism } from 'node:os'
import * as nodeRs from '@node-rs/argon2'
import argon2 from 'argon2'
import type { Argon2Params } from '../src/config/accounts.js'

export interface Argon2Ceiling {
  library: 'argon2' | '@node-rs/argon2'
  verifiesPerSecond: number
  concurrency: number
  seconds: number
}

type Verify = (hash: string, password: string) => Promise<boolean>

const PASSWORD = 'bench-password-Zq8!'

/** Both bindings hash on libuv's pool; each keeps `concurrency` verifications in flight, as a busy server would. */
async function saturate(verify: Verify, hash: string, concurrency: number, seconds: number): Promise<number> {
  const until = performance.now() + seconds * 1000
  let done = 0
  const lane = async () => {
    while (performance.now() < until) {
      if (!(await verify(hash, PASSWORD))) throw new Error('argon2 verification failed in the bench')
      done += 1
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: concurrency }, lane))
  return done / ((performance.now() - started) / 1000)
}

export async function argon2Ceilings(params: Argon2Params, seconds = 4): Promise<Argon2Ceiling[]> {
  // As many in flight as the server's PasswordHasher allows: one per core.
  const concurrency = availableParallelism()
  const options = { memoryCost: params.memoryKiB, timeCost: params.timeCost, parallelism: params.parallelism }
  const a = await argon2.hash(PASSWORD, { ...options, type: argon2.argon2id })
  const b = await nodeRs.hash(PASSWORD, { ...options, algorithm: nodeRs.Algorithm.Argon2id })
  // Stored hashes must stay interchangeable between the two bindings.
  if (!(await nodeRs.verify(a, PASSWORD)) || !(await argon2.verify(b, PASSWORD))) {
    throw new Error('argon2 and @node-rs/argon2 do not read each other’s PHC strings')
  }
  const verifyA: Verify = (h, p) => argon2.verify(h, p)
  const verifyB: Verify = (h, p) => nodeRs.verify(h, p)
  await saturate(verifyA, a, concurrency, 0.5)
  await saturate(verifyB, b, concurrency, 0.5)
  return [
    {
      library: 'argon2',
      verifiesPerSecond: await saturate(verifyA, a, concurrency, seconds),
      concurrency,
      seconds,
    },
    {
      library: '@node-rs/argon2',
      verifiesPerSecond: await saturate(verifyB, b, concurrency, seconds),
      concurrency,
      seconds,
    },
  ]
}

/**
 * The in-use binding's ceiling alone, for measuring beside the login scenario: the machine's speed
 * drifts over a run (other tenants of the host), so a ceiling taken minutes earlier can be 10-20%
 * off the one the logins actually had. Returns a meter: each call measures for `seconds`.
 */
export async function nodeRsCeiling(params: Argon2Params): Promise<(seconds: number) => Promise<number>> {
  const options = { memoryCost: params.memoryKiB, timeCost: params.timeCost, parallelism: params.parallelism }
  const hash = await nodeRs.hash(PASSWORD, { ...options, algorithm: nodeRs.Algorithm.Argon2id })
  const verify: Verify = (h, p) => nodeRs.verify(h, p)
  await saturate(verify, hash, availableParallelism(), 0.5)
  return (seconds) => saturate(verify, hash, availableParallelism(), seconds)
}

export { PASSWORD as BENCH_PASSWORD }
