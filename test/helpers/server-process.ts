import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'

export const root = fileURLToPath(new URL('../..', import.meta.url))
export const tsx = join(root, 'node_modules', '.bin', 'tsx')

/** The environment a child gets: only what an operator would set, never the test runner's. */
export function childEnv(env: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    NODE_ENV: 'test',
    // Cheap hashing: the real cost is a benchmark concern.
    ARGON2_MEMORY_KIB: '1024',
    ARGON2_TIME_COST: '1',
    ...env,
  }
}

export interface ServerProcess {
  child: ChildProcess
  /** http://127.0.0.1:port of the first process that listens. */
  base: string
  /** Everything the process wrote so far, stdout and stderr. */
  output(): string
  /** Resolves once the output matches (or rejects after `ms`). */
  waitFor(pattern: string | RegExp, ms?: number): Promise<void>
  /** Whether the process is still running. */
  alive(): boolean
  /** SIGTERM, then the exit code (SIGKILL after 15 s). */
  stop(): Promise<number | null>
}

/**
 * Starts `src/server.ts` as `npm start` does, on a free port, with node itself (not the tsx
 * launcher) as the child, so that signals and WORKERS reach the server process. Killed when the
 * test ends.
 */
export async function startServer(
  t: Test,
  env: Record<string, string>,
  /** Another build to start (test/package/dockerfile.test.ts): its folder and node's arguments. */
  build?: { cwd: string; argv: string[] },
): Promise<ServerProcess> {
  const child = spawn(process.execPath, build?.argv ?? ['--import', 'tsx', 'src/server.ts'], {
    cwd: build?.cwd ?? root,
    env: childEnv({ PORT: '0', LOG_LEVEL: 'info', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output = collect(child)
  const exited = once(child, 'exit')
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  const waitFor = async (pattern: string | RegExp, ms = 90_000) => {
    const until = Date.now() + ms
    const test = () => (typeof pattern === 'string' ? output().includes(pattern) : pattern.test(output()))
    while (!test()) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${pattern}; output:\n${output()}`)
      if (child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}):\n${output()}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  await waitFor(/listening on http:\/\/[^\s"]+/)
  const base = /listening on (http:\/\/[^\s"]+)/.exec(output())![1]!
  return {
    child,
    base,
    output,
    waitFor,
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      if (child.exitCode !== null) return child.exitCode
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
      const [code] = await exited
      clearTimeout(timer)
      return code as number | null
    },
  }
}

/** Everything a child writes, stdout and stderr together, as it comes. */
function collect(child: ChildProcess): () => string {
  let out = ''
  child.stdout!.on('data', (d) => {
    out += d
  })
  child.stderr!.on('data', (d) => {
    out += d
  })
  return () => out
}

/** Runs `src/server.ts` with `env` until it exits by itself (a start refused): its code and output. */
export async function runServer(
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: root,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const output = collect(child)
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
  const [code] = await once(child, 'exit')
  clearTimeout(timer)
  return { code: code as number | null, output: output() }
}

export interface HttpAnswer {
  status: number
  headers: Headers
  body: Record<string, unknown>
  text: string
}

/** One request with fetch; the body parsed when it is JSON. Network errors reject. */
export async function http(
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<HttpAnswer> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  })
  const text = await res.text()
  let body: Record<string, unknown> = {}
  try {
    body = JSON.parse(text)
  } catch {
    // Not JSON: the text says what came.
  }
  return { status: res.status, headers: res.headers, body, text }
}
