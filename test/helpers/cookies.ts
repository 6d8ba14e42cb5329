import type { LightMyRequestResponse } from 'fastify'
import type { TestApp } from './backends.js'

/** Cookie mode on https (PUBLIC_URL), so the cookies carry their prefixes and Secure; the app's page at APP. */
export const APP = 'https://app.example'
export const HTTPS = { publicUrl: 'https://auth.example', corsOrigins: [APP] }
export const REFRESH = '__Secure-authjwt_refresh'
export const CSRF = '__Host-authjwt_csrf'

export type Jar = { refresh: string; csrf: string }

/** The cookies an answer sets, by name. */
export const cookiesOf = (res: LightMyRequestResponse) =>
  Object.fromEntries(res.cookies.map((c) => [c.name, c]))

export const cookieHeader = (jar: Partial<Jar>) =>
  [jar.refresh !== undefined && `${REFRESH}=${jar.refresh}`, jar.csrf !== undefined && `${CSRF}=${jar.csrf}`]
    .filter(Boolean)
    .join('; ')

/** What the app's page sends: both cookies, its Origin and the CSRF header (each may be changed). */
export const browser = (jar: Partial<Jar>, headers: Record<string, string | undefined> = {}) => {
  const all: Record<string, string | undefined> = {
    cookie: cookieHeader(jar),
    origin: APP,
    'x-csrf-token': jar.csrf,
    ...headers,
  }
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)) as Record<string, string>
}

/** A login from the app's page asking for cookie mode, and the cookies it set. */
export async function cookieLogin(
  h: TestApp,
  username: string,
  password: string,
  url = '/api/v1/auth/token/',
) {
  const res = await h.request({
    method: 'POST',
    url,
    headers: { origin: APP },
    payload: { username, password, token_transport: 'cookie' },
  })
  const set = cookiesOf(res)
  return { res, jar: { refresh: set[REFRESH]?.value ?? '', csrf: set[CSRF]?.value ?? '' } }
}

export const refreshBy = (h: TestApp, headers: Record<string, string>, url = '/api/v1/auth/token/refresh/') =>
  h.request({ method: 'POST', url, headers, payload: {} })

/** The session an access token names. */
export const sessionOf = async (h: TestApp, access: string) => {
  const sid = JSON.parse(Buffer.from(access.split('.')[1]!, 'base64url').toString()).sid
  return h.app.repos.sessions.findById(sid)
}
