import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import type { Test } from 'tap'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls `probe` every 100 ms until it answers a value; throws after `ms`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const value = await probe().catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`)
    await sleep(100)
  }
}

/** One short-lived connection for one command, never retrying. */
export async function ask<T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  })
  r.on('error', () => {})
  try {
    await r.connect()
    return await fn(r)
  } finally {
    r.disconnect()
  }
}

/**
 * A folder and a set of redis-server processes of a test's own, keyed by port: each is SIGKILLed
 * by its pid, and the folder removed, when the test ends.
 */
export function redisProcesses(t: Test, name: string) {
  const dir = mkdtempSync(join(tmpdir(), `authjwt-${name}-`))
  const children = new Map<number, ChildProcess>()
  t.teardown(async () => {
    for (const child of children.values()) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL')
        await once(child, 'exit')
      }
    }
    rmSync(dir, { recursive: true, force: true })
  })
  /** Starts redis-server with `args`, answering once it answers PING on `port`. */
  const start = async (port: number, args: string[]) => {
    const child = spawn('redis-server', args, { stdio: 'ignore' })
    children.set(port, child)
    await until(`redis-server on ${port}`, async () =>
      (await ask(port, (r) => r.ping())) === 'PONG' ? true : undefined,
    )
    return child
  }
  return { dir, children, start }
}
