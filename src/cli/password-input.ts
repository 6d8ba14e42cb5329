import type { Values } from './commands.js'

/** A usage problem with the password options: exit 2, nothing sent. */
export class PasswordInputError extends Error {}

interface Terminal {
  stdin: NodeJS.ReadStream
  stderr: NodeJS.WriteStream
}

/**
 * The new password of a command that takes one (create-user, set-password), read here, before
 * anything is sent to a server: `--password` as given; `--password-stdin`, the first line of
 * stdin (for scripts: never in the shell history or the process list); else, on a terminal,
 * asked twice with the typing hidden. Without a terminal and without either option, refused: a
 * command never waits on a pipe nobody writes to.
 */
export async function passwordFor(
  name: string,
  values: Values,
  io: Terminal = { stdin: process.stdin, stderr: process.stderr },
): Promise<string> {
  const given = typeof values.password === 'string' ? values.password : undefined
  if (values['password-stdin'] === true) {
    if (given !== undefined)
      throw new PasswordInputError(`${name}: give --password or --password-stdin, not both.`)
    return firstLine(await readAll(io.stdin))
  }
  if (given !== undefined) return given
  if (!io.stdin.isTTY) {
    throw new PasswordInputError(
      `${name}: no password given; run it on a terminal to be asked (hidden), pipe it in with --password-stdin, or give --password.`,
    )
  }
  const first = await askHidden('Password: ', io)
  const again = await askHidden('Password (again): ', io)
  if (first !== again) throw new PasswordInputError(`${name}: the two passwords differ; nothing was changed.`)
  return first
}

function firstLine(text: string): string {
  const end = text.search(/\r?\n/)
  return end === -1 ? text : text.slice(0, end)
}

async function readAll(stream: NodeJS.ReadStream): Promise<string> {
  let text = ''
  stream.setEncoding('utf8')
  for await (const chunk of stream) text += chunk
  return text
}

/** One line typed on the terminal, not echoed (raw mode, set before the question is shown). */
function askHidden(question: string, { stdin, stderr }: Terminal): Promise<string> {
  return new Promise((resolve, reject) => {
    stdin.setRawMode(true)
    stdin.setEncoding('utf8')
    stdin.resume()
    stderr.write(question)
    let value = ''
    const finish = () => {
      stdin.off('data', onData)
      stdin.setRawMode(false)
      stdin.pause()
      stderr.write('\n')
    }
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          finish()
          resolve(value)
          return
        }
        if (ch === '\u0003') {
          finish()
          reject(new PasswordInputError('interrupted; nothing was changed.'))
          return
        }
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('')
        else value += ch
      }
    }
    stdin.on('data', onData)
  })
}
