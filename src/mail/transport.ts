import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import nodemailer from 'nodemailer'

/** A message ready to go; `messageId` is the same on every attempt at one outbox row. */
export interface Envelope {
  from: string
  to: string
  subject: string
  text: string
  html: string
  messageId: string
}

export interface MailTransport {
  /** Where mail goes, for the start-up log: never a password. */
  readonly description: string
  send(message: Envelope): Promise<void>
  close(): void
}

/** SMTP at SMTP_URL (smtp:// with STARTTLS when offered, smtps:// for TLS from the start). */
export function smtpTransport(url: string, timeoutMs = 10_000): MailTransport {
  const transporter = nodemailer.createTransport({
    url,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  } as never)
  const { protocol, hostname, port } = new URL(url)
  return {
    description: `${protocol}//${hostname}${port ? `:${port}` : ''}`,
    async send(message) {
      await transporter.sendMail(message)
    },
    close: () => transporter.close(),
  }
}

/** Outside production without SMTP_URL: each message is written as an .eml file to `dir`. */
export function fileTransport(dir: string): MailTransport {
  const transporter = nodemailer.createTransport({ streamTransport: true, buffer: true })
  return {
    description: `files in ${dir}`,
    async send(message) {
      const info = await transporter.sendMail(message)
      await mkdir(dir, { recursive: true, mode: 0o700 })
      const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${message.messageId.replace(/[^\w.-]/g, '')}.eml`
      await writeFile(join(dir, name), info.message as Buffer, { mode: 0o600 })
    },
    close: () => {},
  }
}
