import type { Config } from '../config/index.js'

/** Where a browser's refresh token lives in cookie mode, and what guards it; derived once from Config. */
export interface CookieSettings {
  refreshName: string
  csrfName: string
  /** The refresh cookie's Path: the auth routes only, unless REFRESH_COOKIE_PATH says otherwise. */
  path: string
  /** Secure on every cookie: PUBLIC_URL is https (browsers refuse Secure cookies over plain http). */
  secure: boolean
  csrfDomain: string | undefined
  /** Seconds a cookie lives: the refresh token's lifetime, so it does not outlive what it holds. */
  maxAge: number
  /** Origins whose pages may make cookie-authenticated requests: CORS_ORIGINS and PUBLIC_URL's own. */
  trustedOrigins: ReadonlySet<string>
  clientTypes: ReadonlySet<string>
}

export const REFRESH_COOKIE = 'authjwt_refresh'
export const CSRF_COOKIE = 'authjwt_csrf'
/** The double-submit header: the CSRF cookie's value, copied by the page's script. */
export const CSRF_HEADER = 'x-csrf-token'

/**
 * Names follow the cookie prefixes, which browsers enforce: `__Host-` promises Secure, Path=/ and
 * no Domain, so no sibling subdomain can plant or shadow the cookie; `__Secure-` promises Secure
 * only. The refresh cookie is scoped to the auth routes (Path=/api/v1/auth/ by default), which
 * rules `__Host-` out: it gets `__Secure-`, or `__Host-` when REFRESH_COOKIE_PATH=/ (a service on
 * its own origin loses nothing by it, and every alias then receives the cookie). The CSRF cookie
 * must be readable by the app's pages, so it sits at Path=/ and is `__Host-` unless
 * CSRF_COOKIE_DOMAIN shares it with a sibling subdomain. Over plain http (development) cookies
 * cannot be Secure, so they take no prefix.
 */
export function cookieSettings(config: Config): CookieSettings {
  const publicUrl = new URL(config.publicUrl)
  const secure = publicUrl.protocol === 'https:'
  const base = publicUrl.pathname.replace(/\/+$/, '')
  const path = config.refreshCookiePath ?? `${base}/api/v1/auth/`
  const prefix = (hostOnlyAtRoot: boolean) => (!secure ? '' : hostOnlyAtRoot ? '__Host-' : '__Secure-')
  const trustedOrigins = new Set<string>([publicUrl.origin])
  for (const origin of config.corsOrigins) {
    try {
      trustedOrigins.add(new URL(origin).origin)
    } catch {
      // Not a URL (a CORS pattern): it can match no Origin header exactly, so it trusts no one here.
    }
  }
  return {
    refreshName: `${prefix(path === '/')}${REFRESH_COOKIE}`,
    csrfName: `${prefix(config.csrfCookieDomain === undefined)}${CSRF_COOKIE}`,
    path,
    secure,
    csrfDomain: config.csrfCookieDomain,
    maxAge: config.refreshTokenLifetime,
    trustedOrigins,
    clientTypes: new Set(config.refreshCookieClientTypes),
  }
}
