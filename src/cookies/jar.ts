import { randomBytes } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { CookieSettings } from './settings.js'

/** @fastify/cookie's codec: its cookie parser and serializer, used without its per-request hooks. */
export interface CookieCodec {
  parse(header: string): Record<string, string | undefined>
  serialize(name: string, value: string, options: Record<string, unknown>): string
}

/** What a request's cookies hold for us. */
export interface Presented {
  refresh: string | undefined
  csrf: string | undefined
}

/** Reads and writes the two cookies of cookie mode: the refresh token (HttpOnly) and the CSRF token. */
export class CookieJar {
  constructor(
    readonly settings: CookieSettings,
    private readonly codec: CookieCodec,
  ) {}

  read(request: FastifyRequest): Presented {
    const header = request.headers.cookie
    if (!header) return { refresh: undefined, csrf: undefined }
    const jar = this.codec.parse(header)
    return { refresh: jar[this.settings.refreshName], csrf: jar[this.settings.csrfName] }
  }

  /** A fresh double-submit token: 32 random bytes, as text a header carries unchanged. */
  newCsrfToken(): string {
    return randomBytes(32).toString('base64url')
  }

  /** Sets both cookies: the refresh token out of reach of scripts, the CSRF token readable by the app. */
  issue(reply: FastifyReply, refresh: string, csrf: string): void {
    this.append(reply, [
      this.codec.serialize(this.settings.refreshName, refresh, this.refreshOptions(this.settings.maxAge)),
      this.codec.serialize(this.settings.csrfName, csrf, this.csrfOptions(this.settings.maxAge)),
    ])
  }

  /** Renews the CSRF cookie's lifetime with the refresh cookie's (without rotation only it is re-set). */
  renewCsrf(reply: FastifyReply, csrf: string): void {
    this.append(reply, [
      this.codec.serialize(this.settings.csrfName, csrf, this.csrfOptions(this.settings.maxAge)),
    ])
  }

  /** Max-Age=0 on both, with the same Path and Domain, or the browser would keep them. */
  clear(reply: FastifyReply): void {
    this.append(reply, [
      this.codec.serialize(this.settings.refreshName, '', this.refreshOptions(0)),
      this.codec.serialize(this.settings.csrfName, '', this.csrfOptions(0)),
    ])
  }

  private refreshOptions(maxAge: number) {
    const { path, secure } = this.settings
    return { path, secure, httpOnly: true, sameSite: 'strict', maxAge }
  }

  private csrfOptions(maxAge: number) {
    const { csrfDomain, secure } = this.settings
    return { path: '/', domain: csrfDomain, secure, httpOnly: false, sameSite: 'strict', maxAge }
  }

  private append(reply: FastifyReply, cookies: string[]): void {
    const existing = reply.getHeader('set-cookie')
    const before = existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)]
    reply.header('set-cookie', [...before, ...cookies])
  }
}
