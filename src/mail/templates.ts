import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/** A mail as sent: subject, plain text and HTML. */
export interface RenderedMail {
  subject: string
  text: string
  html: string
}

type Template = { subject: string; text: string; html: string }

const BUILT_IN: Record<string, Template> = {
  'password-reset': {
    subject: 'Reset your password',
    text: `Hello {{username}},

Someone, hopefully you, asked to reset the password of your account. Open this link within
{{minutes}} minutes to choose a new one:

{{link}}

If it was not you, ignore this mail: your password stays as it is.
`,
    html: `<p>Hello {{username}},</p>
<p>Someone, hopefully you, asked to reset the password of your account. Open this link within
{{minutes}} minutes to choose a new one:</p>
<p><a href="{{link}}">Choose a new password</a></p>
<p>If it was not you, ignore this mail: your password stays as it is.</p>
`,
  },
  'verify-email': {
    subject: 'Confirm your e-mail address',
    text: `Hello {{username}},

Please confirm that {{email}} is your address by opening this link:

{{link}}

If you did not expect this mail, ignore it.
`,
    html: `<p>Hello {{username}},</p>
<p>Please confirm that {{email}} is your address:</p>
<p><a href="{{link}}">Confirm my address</a></p>
<p>If you did not expect this mail, ignore it.</p>
`,
  },
  'suspicious-activity': {
    subject: 'Security notice: {{what}}',
    text: `Hello {{username}},

We noticed {{what}} on your account at {{time}}, from {{ip}} ({{agent}}).

If this was you, there is nothing to do. If not, change your password now and end the sessions
you do not recognise.
`,
    html: `<p>Hello {{username}},</p>
<p>We noticed {{what}} on your account at {{time}}, from {{ip}} ({{agent}}).</p>
<p>If this was you, there is nothing to do. If not, change your password now and end the sessions
you do not recognise.</p>
`,
  },
}

export type TemplateName = keyof typeof BUILT_IN

/**
 * The templates, each part overridable by a file in MAIL_TEMPLATES_DIR: `<name>.subject.txt`,
 * `<name>.txt`, `<name>.html`. Placeholders are `{{field}}`; in HTML their values are escaped.
 * Files are read once, at start, so a broken folder fails the start rather than a mail.
 */
export class MailTemplates {
  private readonly templates: Record<string, Template>

  constructor(dir?: string) {
    this.templates = Object.fromEntries(
      Object.entries(BUILT_IN).map(([name, builtIn]) => [
        name,
        {
          subject: override(dir, `${name}.subject.txt`)?.trim() ?? builtIn.subject,
          text: override(dir, `${name}.txt`) ?? builtIn.text,
          html: override(dir, `${name}.html`) ?? builtIn.html,
        },
      ]),
    )
  }

  render(name: string, data: Record<string, string>): RenderedMail {
    const template = this.templates[name]
    if (!template) throw new Error(`no mail template named ${name}`)
    return {
      subject: fill(template.subject, data, (v) => v.replace(/[\r\n]+/g, ' ')),
      text: fill(template.text, data, (v) => v),
      html: fill(template.html, data, escapeHtml),
    }
  }
}

function override(dir: string | undefined, file: string): string | undefined {
  if (!dir) return undefined
  try {
    return readFileSync(join(dir, file), 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

function fill(template: string, data: Record<string, string>, encode: (value: string) => string): string {
  return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, key: string) => encode(data[key] ?? ''))
}

/** Text as HTML shows it: never markup. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}
