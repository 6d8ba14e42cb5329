import { once } from 'node:events'
import { type ParsedMail, simpleParser } from 'mailparser'
import { SMTPServer } from 'smtp-server'
import type { Test } from 'tap'

export interface Inbox {
  url: string
  port: number
  messages: ParsedMail[]
  /** Resolves with the next message to `to` not taken yet (rejects after `ms`). */
  next(to: string, ms?: number): Promise<ParsedMail>
  /** Stops accepting connections (an SMTP outage); `start` listens again on the same port. */
  stop(): Promise<void>
  start(): Promise<void>
}

/** A real SMTP server (smtp-server, from the nodemailer project) on a local port of the test's own. */
export async function startInbox(t: Test, port = 0): Promise<Inbox> {
  const messages: ParsedMail[] = []
  const taken = new Set<ParsedMail>()
  let server: SMTPServer | undefined
  let boundPort = port
  const listen = async () => {
    server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      // An outage cuts connections at once rather than waiting for clients to leave.
      closeTimeout: 500,
      logger: false,
      onData(stream, _session, callback) {
        simpleParser(stream).then(
          (mail) => {
            messages.push(mail)
            callback()
          },
          (err) => callback(err),
        )
      },
    })
    server.listen(boundPort, '127.0.0.1')
    await once(server.server, 'listening')
    boundPort = (server.server.address() as { port: number }).port
  }
  await listen()
  const inbox: Inbox = {
    get url() {
      return `smtp://127.0.0.1:${boundPort}`
    },
    get port() {
      return boundPort
    },
    messages,
    async next(to, ms = 15_000) {
      const deadline = Date.now() + ms
      for (;;) {
        const found = messages.find((m) => !taken.has(m) && m.to && JSON.stringify(m.to).includes(to))
        if (found) {
          taken.add(found)
          return found
        }
        if (Date.now() > deadline) throw new Error(`no mail to ${to} within ${ms} ms`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    },
    async stop() {
      await new Promise<void>((resolve) => server?.close(() => resolve()))
    },
    start: listen,
  }
  t.teardown(() => inbox.stop())
  return inbox
}

/** The token in the first link of a mail's text. */
export function linkToken(mail: ParsedMail): { link: string; token: string } {
  const link = /https?:\/\/\S+/.exec(mail.text ?? '')?.[0] ?? ''
  return { link, token: new URL(link || 'http://x/').searchParams.get('token') ?? '' }
}
