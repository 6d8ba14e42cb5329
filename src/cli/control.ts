import { createHash } from 'node:crypto'
import { chmodSync, existsSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { safeError } from '../log.js'
import { type CommandContext, CommandError, commands, UsageError, type Values } from './commands.js'

/**
 * A server on an embedded backend (PGlite, which one process alone may open, or the in-process
 * revocation store, which no other process can write) runs operator commands for the CLI over a
 * Unix socket in its data folder, in a folder only its own user may enter. So `npm run cli -- create-user`
 * works while the server runs, and writes where the server reads.
 *
 * Protocol: one JSON line `{command, values}` in; JSON lines `{out}` / `{err}` and a last `{exit}` out.
 */
export function controlSocketPath(dataDir: string): string {
  const path = join(dataDir, 'run', 'control.sock')
  // Unix socket paths are limited to about 100 bytes; a deep data folder gets one in tmp.
  if (Buffer.byteLength(path) <= 100) return path
  const id = createHash('sha256').update(dataDir).digest('hex').slice(0, 16)
  return join(tmpdir(), `authjwt-${id}`, 'control.sock')
}

type Message = { out: string } | { err: string } | { exit: number }

/**
 * The control socket's folder is not this user's alone. Its name follows from DATA_DIR, so in tmp
 * anyone can create it first, listen there, and receive the commands (passwords included).
 */
export class ControlFolderError extends Error {
  constructor(
    readonly folder: string,
    problem: string,
  ) {
    super(`the control socket's folder ${folder} ${problem}`)
    this.name = 'ControlFolderError'
  }

  /** What the operator does about it. */
  get remedy(): string {
    return (
      `remove that folder (rm -r ${this.folder}, as its owner or root) or give DATA_DIR a shorter path (the ` +
      'socket then stays in DATA_DIR/run), and restart the server'
    )
  }
}

/** What makes `folder` unfit for the socket, or undefined: it is a folder (not a link), ours, mode 0700. */
function folderProblem(folder: string): string | undefined {
  const stat = lstatSync(folder)
  const uid = process.getuid?.()
  if (stat.isSymbolicLink()) return 'is a symbolic link'
  if (!stat.isDirectory()) return 'is not a folder'
  const mode = stat.mode & 0o777
  if ((uid === undefined || stat.uid === uid) && mode === 0o700) return undefined
  return `belongs to uid ${stat.uid} with mode ${mode.toString(8)}, where this user's own (uid ${uid}, mode 700) is needed`
}

/** Throws ControlFolderError unless the socket's folder is this user's own (lstat: no link), mode 0700. */
function checkFolder(folder: string): void {
  const problem = folderProblem(folder)
  if (problem !== undefined) throw new ControlFolderError(folder, problem)
}

/** Runs one command the way the CLI's main would, reporting through `send`. */
export async function runCommand(
  name: string,
  values: Values,
  ctx: Omit<CommandContext, 'print'>,
  send: (message: Message) => void,
): Promise<number> {
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined
  if (!command) {
    send({ err: `Unknown command "${name}".` })
    return 2
  }
  try {
    await command.run(values, { ...ctx, print: (line) => send({ out: line }) })
    return 0
  } catch (err) {
    if (err instanceof UsageError) send({ err: `${name}: ${err.message}` })
    else if (err instanceof CommandError) send({ err: `${name}: ${err.message}` })
    else send({ err: `${name} failed: ${safeError(err).message}` })
    return err instanceof UsageError ? 2 : 1
  }
}

/** Serves commands on `path` with the server's context. Resolves to the listening server. */
export async function serveControl(
  path: string,
  ctx: Omit<CommandContext, 'print'>,
  onError: (err: unknown) => void,
): Promise<Server | undefined> {
  // The socket's folder is the owner's alone, so no other user can reach the socket even in the
  // moment before its own mode is set, nor listen there first.
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  checkFolder(dirname(path))
  if (existsSync(path)) {
    // Another live server of ours answering there keeps its socket; a leftover of a crash is removed.
    if (await answers(path)) return undefined
    unlinkSync(path)
  }
  const server = createServer((socket) => handle(socket, ctx).catch(onError))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => resolve())
  })
  chmodSync(path, 0o600)
  server.on('error', onError)
  return server
}

async function handle(socket: Socket, ctx: Omit<CommandContext, 'print'>): Promise<void> {
  socket.setEncoding('utf8')
  const buffer = await new Promise<string>((resolve) => {
    let received = ''
    const onData = (chunk: string) => {
      received += chunk
      if (!received.includes('\n') && received.length <= 65_536) return
      socket.off('data', onData)
      resolve(received)
    }
    socket.on('data', onData)
    socket.once('end', () => resolve(received))
    socket.once('error', () => resolve(''))
  })
  const send = (message: Message) => socket.write(`${JSON.stringify(message)}\n`)
  let request: { command?: unknown; values?: unknown }
  try {
    request = JSON.parse(buffer.split('\n')[0] ?? '')
  } catch {
    send({ exit: 2 })
    socket.end()
    return
  }
  const values = (request.values && typeof request.values === 'object' ? request.values : {}) as Values
  const exit = await runCommand(String(request.command), values, ctx, send)
  send({ exit })
  socket.end()
}

/** Whether a server answers on `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(path)
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/**
 * Sends a command to the server on `path`: its exit code once done, or undefined when no server
 * answers there (nothing was sent). Rejects with ControlFolderError, sending nothing, when the
 * socket's folder is not this user's own.
 */
export function sendCommand(
  path: string,
  command: string,
  values: Values,
  out: { print(line: string): void; error(line: string): void },
): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    try {
      checkFolder(dirname(path))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') resolve(undefined)
      else reject(err)
      return
    }
    const socket = createConnection(path)
    let connected = false
    let exit: number | undefined
    let buffer = ''
    socket.setEncoding('utf8')
    socket.once('connect', () => {
      connected = true
      socket.write(`${JSON.stringify({ command, values })}\n`)
    })
    socket.on('data', (chunk: string) => {
      buffer += chunk
      let newline = buffer.indexOf('\n')
      while (newline >= 0) {
        const message = JSON.parse(buffer.slice(0, newline)) as Partial<Record<string, unknown>>
        buffer = buffer.slice(newline + 1)
        if (typeof message.out === 'string') out.print(message.out)
        if (typeof message.err === 'string') out.error(message.err)
        if (typeof message.exit === 'number') exit = message.exit
        newline = buffer.indexOf('\n')
      }
    })
    socket.once('error', (err) => (connected ? reject(new CommandError(err.message)) : resolve(undefined)))
    socket.once('close', () => {
      if (!connected) return
      if (exit === undefined) reject(new CommandError('the server closed the connection before answering'))
      else resolve(exit)
    })
  })
}
