import { CLIENT_TYPES } from '../../schema/db.js'
import type { Reader } from './read.js'

/** Cookie mode for browsers (issue 29 item 2): what each setting means is in src/cookies/settings.ts and the README. */
export interface CookiesConfig {
  /**
   * REFRESH_COOKIE_PATH: the refresh cookie's Path; undefined: PUBLIC_URL's path + /api/v1/auth/.
   * `/` lets the cookie reach every alias and take the `__Host-` name.
   */
  refreshCookiePath: string | undefined
  /** REFRESH_COOKIE_CLIENT_TYPES: logins of these client types use cookie mode without asking. */
  refreshCookieClientTypes: string[]
  /** CSRF_COOKIE_DOMAIN: the CSRF cookie's Domain, so an app on a sibling subdomain can read it. */
  csrfCookieDomain: string | undefined
}

export function readCookies(read: Reader): CookiesConfig {
  const path = read.text('REFRESH_COOKIE_PATH')?.trim() || undefined
  // A cookie attribute: `;` or a control character would end it and start another.
  if (path !== undefined && !/^\/[A-Za-z0-9._~!$&'()*+,=:@%/-]*$/.test(path)) {
    read.problem(`REFRESH_COOKIE_PATH: expected a path starting with /, got "${path.slice(0, 64)}".`)
  }
  const types = (read.text('REFRESH_COOKIE_CLIENT_TYPES') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  for (const type of types) {
    if (!(CLIENT_TYPES as readonly string[]).includes(type)) {
      read.problem(
        `REFRESH_COOKIE_CLIENT_TYPES: expected client types among ${CLIENT_TYPES.join(', ')}, got "${type.slice(0, 32)}".`,
      )
    }
  }
  const domain = read.text('CSRF_COOKIE_DOMAIN')?.trim() || undefined
  if (domain !== undefined && !/^\.?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(domain)) {
    read.problem(`CSRF_COOKIE_DOMAIN: expected a domain such as example.com, got "${domain.slice(0, 64)}".`)
  }
  return { refreshCookiePath: path, refreshCookieClientTypes: types, csrfCookieDomain: domain }
}
