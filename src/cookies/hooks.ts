import type { FastifyReply, FastifyRequest } from 'fastify'
import { checkCookieRequest, checkOrigin } from './csrf.js'
import type { CookieJar } from './jar.js'
import type { CookieSettings } from './settings.js'

/**
 * What cookie mode does on this request, once decided: `issue` (a login that asked for it),
 * `renew` (a refresh the cookie authenticated) or `revoke` (a logout or blacklist it authenticated).
 */
export interface CookieState {
  mode: 'issue' | 'renew' | 'revoke'
  /** The double-submit token the request carried (renew, revoke). */
  csrf?: string
}

/** What a login (or the login a two-factor step completes) asked for. */
export interface TransportInput {
  token_transport?: unknown
  client_type?: unknown
}

type Done = (err?: Error | null, payload?: unknown) => void

/**
 * Body mode stays the default: a login uses cookie mode when it says `token_transport: "cookie"`,
 * or when its client_type is listed in REFRESH_COOKIE_CLIENT_TYPES and it does not say "body".
 */
export function wantsCookies(settings: CookieSettings, input: TransportInput): boolean {
  if (input.token_transport === 'cookie') return true
  if (input.token_transport === 'body') return false
  const type = typeof input.client_type === 'string' ? input.client_type : 'unknown'
  return settings.clientTypes.has(type)
}

/** The hooks that plugins/app/cookies.ts puts on the login, refresh and logout routes. */
export function cookieHooks(jar: CookieJar) {
  const { settings } = jar

  /** A login asking for cookie mode must come from a trusted page (no login CSRF). */
  const adopt = (request: FastifyRequest, input: TransportInput) => {
    if (!wantsCookies(settings, input)) return
    checkOrigin(settings, request.headers.origin)
    request.tokenCookie = { mode: 'issue' }
  }

  /**
   * A refresh or logout whose body names no token, from a browser holding the cookie: the cookie's
   * token goes where the body's would, after the CSRF check. A body that names a token is body
   * mode whatever cookies come along (a script that holds the token is not forged by a page).
   */
  const presentCookie =
    (mode: 'renew' | 'revoke') => (request: FastifyRequest, _reply: FastifyReply, done: Done) => {
      const body = request.body
      if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body)))
        return done()
      const fields = (body ?? {}) as Record<string, unknown>
      if (fields.refresh !== undefined || (mode === 'revoke' && fields.refresh_token !== undefined))
        return done()
      const presented = jar.read(request)
      if (presented.refresh === undefined) return done()
      try {
        checkCookieRequest(settings, request.headers.origin, presented.csrf, request.headers['x-csrf-token'])
      } catch (err) {
        return done(err as Error)
      }
      request.body = { ...fields, refresh: presented.refresh }
      request.tokenCookie = { mode, csrf: presented.csrf }
      done()
    }

  /**
   * A logout of every session, authenticated by its Bearer (no CSRF check needed): the browser's
   * cookie names one of those sessions, so it is cleared with the answer.
   */
  const clearAfter = (request: FastifyRequest, _reply: FastifyReply, done: Done) => {
    if (jar.read(request).refresh !== undefined) request.tokenCookie = { mode: 'revoke' }
    done()
  }

  /** The answer: the refresh token goes into its cookie instead of the body, with the CSRF token beside it. */
  const deliver = (request: FastifyRequest, reply: FastifyReply, payload: unknown, done: Done) => {
    const state = request.tokenCookie
    if (!state || !payload || typeof payload !== 'object') return done(null, payload)
    if (state.mode === 'revoke') {
      jar.clear(reply)
      return done(null, payload)
    }
    const { refresh, ...rest } = payload as { refresh?: unknown }
    const csrf = state.csrf ?? jar.newCsrfToken()
    // Without rotation a refresh answers the access token alone: the cookie keeps its token.
    if (typeof refresh === 'string') jar.issue(reply, refresh, csrf)
    else jar.renewCsrf(reply, csrf)
    // The route's serializer requires `refresh` (LoginResponse keeps body mode's field order), so
    // this answer, the handler's fields in their order less the token, is serialized here.
    reply.serializer(JSON.stringify)
    done(null, { ...rest, csrf_token: csrf })
  }

  /**
   * A refused cookie (invalid, expired, revoked elsewhere, reused) is cleared, so the browser
   * stops presenting it; an unavailable store (503) is not a refusal and a CSRF refusal (403)
   * never gets here with a state: neither clears anything.
   */
  const clearRefused = (request: FastifyRequest, reply: FastifyReply, error: Error, done: () => void) => {
    const state = request.tokenCookie
    const status = (error as { statusCode?: unknown }).statusCode
    if (state && state.mode !== 'issue' && (status === 400 || status === 401)) jar.clear(reply)
    done()
  }

  return { adopt, presentCookie, clearAfter, deliver, clearRefused }
}
