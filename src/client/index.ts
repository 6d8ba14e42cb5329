import type { Static } from '@sinclair/typebox'
import type { LoginResponse, LogoutResponse, RefreshResponse, Session, User } from '../../schema/wire.js'

/**
 * A client of this service for browsers and Node (fetch only, no other dependency). Its types are
 * the server's own wire schemas (schema/wire.ts, which also generate the OpenAPI document), so
 * they cannot drift from what the server answers.
 *
 * Refresh is single-flight, as the seeds' axios interceptor asks: when many requests meet an
 * expired access token at once, one refresh runs and every one of them retries with its result.
 *
 * In a browser, `transport: 'cookie'` keeps the refresh token out of reach of scripts: the service
 * sets it in an HttpOnly cookie, fetch sends it (`credentials: 'include'`), and this client sends
 * the CSRF token beside it. Only the access token is then in memory (`refresh` is absent).
 */
export type LoginAnswer = Static<typeof LoginResponse>
export type Tokens = { access: string; refresh?: string }
export type CurrentUser = Static<typeof User>
export type DeviceSession = Static<typeof Session>

export interface ClientOptions {
  /** Where the service answers, e.g. `https://auth.example.com`. */
  baseUrl: string
  /** Tokens from an earlier login (kept by the caller, e.g. in secure storage). */
  tokens?: Tokens
  /** Hears every new pair (after login and each refresh), to store it; null after logout. */
  onTokens?(tokens: Tokens | null): void
  fetch?: typeof fetch
  /**
   * `body` (the default): the refresh token travels in bodies, as SimpleJWT's. `cookie`: in the
   * service's HttpOnly cookie (README "Cookie mode"); after a reload, call refresh() to get an
   * access token from the cookie.
   */
  transport?: 'body' | 'cookie'
  /** The page's cookies, to read the CSRF cookie after a reload; defaults to `document.cookie`. */
  readCookies?(): string
}

/** The CSRF cookie, whichever prefix the deployment gives it (src/cookies/settings.ts). */
const CSRF_COOKIE = /(?:^|;\s*)(?:__Host-|__Secure-)?authjwt_csrf=([^;]*)/

/** An answer that was not 2xx: the status and the service's error body ({detail, code} or field errors). */
export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}: ${JSON.stringify(body)}`)
    this.name = 'ApiRequestError'
  }
}

export class AuthClient {
  private tokens: Tokens | undefined
  private refreshing: Promise<Tokens> | undefined
  private readonly fetch: typeof fetch
  private readonly cookieMode: boolean
  /** Cookie mode: the double-submit token from the last answer, else read from the CSRF cookie. */
  private csrf: string | undefined

  constructor(private readonly options: ClientOptions) {
    this.tokens = options.tokens
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis)
    this.cookieMode = options.transport === 'cookie'
  }

  get current(): Tokens | undefined {
    return this.tokens
  }

  async login(
    username: string,
    password: string,
    extra: { client_type?: string; device_name?: string } = {},
  ): Promise<LoginAnswer> {
    const answer = await this.send<LoginAnswer>('POST', '/api/v1/auth/token/', {
      username,
      password,
      ...extra,
      ...(this.cookieMode ? { token_transport: 'cookie' } : {}),
    })
    this.csrf = answer.csrf_token
    this.store(
      this.cookieMode ? { access: answer.access } : { access: answer.access, refresh: answer.refresh },
    )
    return answer
  }

  /**
   * A new pair from the refresh token. Concurrent callers share one request: a second refresh
   * with the same token would be refused (the token is spent), or worse, taken for a stolen one.
   */
  refresh(): Promise<Tokens> {
    this.refreshing ??= this.refreshOnce().finally(() => {
      this.refreshing = undefined
    })
    return this.refreshing
  }

  private async refreshOnce(): Promise<Tokens> {
    if (this.cookieMode) {
      const answer = await this.send<Static<typeof RefreshResponse>>(
        'POST',
        '/api/v1/auth/token/refresh/',
        {},
      )
      this.csrf = answer.csrf_token ?? this.csrf
      const tokens = { access: answer.access }
      this.store(tokens)
      return tokens
    }
    const refresh = this.tokens?.refresh
    if (!refresh) throw new ApiRequestError(401, { detail: 'Not logged in.', code: 'not_authenticated' })
    const answer = await this.send<Static<typeof RefreshResponse>>('POST', '/api/v1/auth/token/refresh/', {
      refresh,
    })
    // Without rotation the service answers the access token alone; the refresh token stays.
    const tokens = { access: answer.access, refresh: answer.refresh ?? refresh }
    this.store(tokens)
    return tokens
  }

  /** Ends this login's session on the service, then forgets the tokens. */
  async logout(): Promise<Static<typeof LogoutResponse> | undefined> {
    const tokens = this.tokens
    this.store(null)
    // The cookie is the session's proof even when no access token is held (after a reload).
    if (this.cookieMode) {
      try {
        return await this.send('POST', '/api/v1/auth/logout/', {}, tokens?.access)
      } finally {
        this.csrf = undefined
      }
    }
    if (!tokens?.refresh) return undefined
    return this.send('POST', '/api/v1/auth/logout/', { refresh: tokens.refresh }, tokens.access)
  }

  me(): Promise<CurrentUser> {
    return this.request('GET', '/api/v1/auth/users/me/')
  }

  sessions(includeInactive = false): Promise<DeviceSession[]> {
    return this.request('GET', `/api/v1/auth/sessions/${includeInactive ? '?include_inactive=true' : ''}`)
  }

  revokeSession(id: number): Promise<{ message: string; session_id: number }> {
    return this.request('POST', `/api/v1/auth/sessions/${id}/revoke/`)
  }

  /**
   * A request with the access token. On a 401 for an invalid or expired token, it refreshes (once
   * for all concurrent callers) and tries again, once. A token revoked (logout elsewhere) is not
   * retried: the user must log in again.
   */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const used = this.tokens?.access
    try {
      return await this.send<T>(method, path, body, used)
    } catch (err) {
      if (!(err instanceof ApiRequestError) || err.status !== 401) throw err
      if ((err.body as { code?: unknown })?.code !== 'token_not_valid') throw err
      // Someone refreshed while this request was out: use their token, do not refresh again.
      const access = this.tokens?.access !== used ? this.tokens?.access : (await this.refresh()).access
      return this.send<T>(method, path, body, access)
    }
  }

  private csrfToken(): string | undefined {
    if (this.csrf) return this.csrf
    const cookies =
      this.options.readCookies?.() ?? (globalThis as { document?: { cookie?: string } }).document?.cookie
    const found = cookies ? CSRF_COOKIE.exec(cookies)?.[1] : undefined
    if (!found) return undefined
    try {
      return decodeURIComponent(found)
    } catch {
      return found
    }
  }

  private store(tokens: Tokens | null): void {
    this.tokens = tokens ?? undefined
    this.options.onTokens?.(tokens)
  }

  /** The URL of `path` on the service; a path that resolves elsewhere (`//host/x`) would carry our tokens there. */
  private urlOf(path: string): URL {
    const base = new URL(this.options.baseUrl)
    const url = new URL(path, base)
    if (url.origin !== base.origin) {
      throw new Error(
        `authjwt client: ${JSON.stringify(path)} leaves ${base.origin}; give a path on the service`,
      )
    }
    return url
  }

  private async send<T>(method: string, path: string, body?: unknown, access?: string): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (access) headers.authorization = `Bearer ${access}`
    const csrf = this.cookieMode ? this.csrfToken() : undefined
    if (csrf) headers['x-csrf-token'] = csrf
    const res = await this.fetch(this.urlOf(path), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      // Cookie mode: the browser sends the refresh cookie to the service, cross-origin too.
      ...(this.cookieMode ? { credentials: 'include' as const } : {}),
      // A redirect is an answer like any other: followed, a 307 would re-send a password or a
      // refresh token in the body to wherever it points. It surfaces as ApiRequestError (3xx; 0
      // in a browser, which hides a redirect's details).
      redirect: 'manual',
    })
    const text = await res.text()
    let parsed: unknown = text
    try {
      parsed = text ? JSON.parse(text) : undefined
    } catch {
      // Not JSON (a proxy's error page): the text itself is the body.
    }
    if (!res.ok) throw new ApiRequestError(res.status, parsed)
    return parsed as T
  }
}
