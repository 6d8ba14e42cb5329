import { timingSafeEqual } from 'node:crypto'
import { ApiError } from '../http/errors.js'
import type { CookieSettings } from './settings.js'

/**
 * DRF's sentences ("CSRF Failed: ...") with a stable code, 403 as DRF answers them. Nothing is
 * read, written or revoked before this check: a refused request changes nothing.
 */
const refused = (why: string) => new ApiError(403, `CSRF Failed: ${why}`, 'csrf_failed')

/**
 * The page that sent a request must be one we trust. Browsers send Origin with every POST
 * (same-origin included) and a page cannot forge it, so a missing one means the request did not
 * come from a page of ours: refused too. Used alone where no CSRF cookie exists yet (a login that
 * asks for cookie mode, so no other site can log a browser into an account of its choosing).
 */
export function checkOrigin(settings: CookieSettings, origin: string | undefined): void {
  if (origin === undefined || origin === '') throw refused('Origin header missing.')
  if (!settings.trustedOrigins.has(origin)) {
    // The Origin is named (capped) as DRF names it: it tells an operator which CORS_ORIGINS entry is missing.
    throw refused(`Origin checking failed - ${origin.slice(0, 100)} does not match any trusted origins.`)
  }
}

/**
 * Every request the refresh cookie authenticates: a trusted Origin, and the X-CSRF-Token header
 * equal to the CSRF cookie (double submit). SameSite=Strict already keeps the cookies off
 * cross-site requests in current browsers; these two hold where it does not (an old browser, a
 * sibling subdomain that is same-site but not trusted): a page elsewhere can neither set Origin
 * nor read our cookie to copy it into the header.
 */
export function checkCookieRequest(
  settings: CookieSettings,
  origin: string | undefined,
  csrfCookie: string | undefined,
  csrfHeader: string | string[] | undefined,
): void {
  checkOrigin(settings, origin)
  if (!csrfCookie) throw refused('CSRF cookie not set.')
  if (typeof csrfHeader !== 'string' || csrfHeader === '') throw refused('CSRF token missing.')
  const a = Buffer.from(csrfHeader)
  const b = Buffer.from(csrfCookie)
  if (a.length !== b.length || !timingSafeEqual(a, b)) throw refused('CSRF token incorrect.')
}
