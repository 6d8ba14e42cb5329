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

/** A mail the file transport wrote: where, to whom, and the links of its text part. */
export interface WrittenMail {
  to: string
  file: string
  links: string[]
}

/**
 * Outside production without SMTP_URL: each message is written as an .eml file to `dir`, and
 * `onWritten` hears of it with its links as plain text. The file's text is quoted-printable (a
 * link's `=` is written `=3D`, long lines are broken with `=`), so a developer copying a token out
 * of it gets a wrong one; the start-up log prints the link instead. Development only: the same
 * link is in the file beside it, and production never writes mail to files.
 */
export function fileTransport(dir: string, onWritten: (mail: WrittenMail) => void = () => {}): MailTransport {
  const transporter = nodemailer.createTransport({ streamTransport: true, buffer: true })
  return {
    description: `files in ${dir}`,
    async send(message) {
      const info = await transporter.sendMail(message)
      await mkdir(dir, { recursive: true, mode: 0o700 })
      const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${message.messageId.replace(/[^\w.-]/g, '')}.eml`
      const file = join(dir, name)
      await writeFile(file, info.message as Buffer, { mode: 0o600 })
      onWritten({ to: message.to, file, links: message.text.match(/https?:\/\/[^\s<>"]+/g) ?? [] })
    },
    close: () => {},
  }
}
