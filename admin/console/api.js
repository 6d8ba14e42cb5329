// The public JSON API as the console uses it. Tokens live in sessionStorage: they end with the tab.

export const API = '/api/v1/auth'
export const PAGE_SIZE = 25
const KEYS = { access: 'authjwt.console.access', refresh: 'authjwt.console.refresh' }

/** The session ended server-side (revoked, invalidated, refresh expired): back to the login form. */
export class SignedOut extends Error {}

export const tokens = {
  get access() {
    return sessionStorage.getItem(KEYS.access)
  },
  get refresh() {
    return sessionStorage.getItem(KEYS.refresh)
  },
  set(access, refresh) {
    sessionStorage.setItem(KEYS.access, access)
    if (refresh) sessionStorage.setItem(KEYS.refresh, refresh)
  },
  clear() {
    sessionStorage.removeItem(KEYS.access)
    sessionStorage.removeItem(KEYS.refresh)
  },
}

/** The API's own words: `detail`, else DRF field errors, else the status. */
export function describe(status, body) {
  if (body && typeof body === 'object') {
    if (typeof body.detail === 'string') return body.detail
    const fields = Object.entries(body).filter(([, v]) => Array.isArray(v))
    if (fields.length) return fields.map(([k, v]) => `${k}: ${v.join(' ')}`).join(' · ')
    if (body.code === 'service_unavailable')
      return 'The service is temporarily unavailable. Try again shortly.'
  }
  return `The request failed (HTTP ${status}).`
}

export class ApiError extends Error {
  constructor(status, body) {
    super(describe(status, body))
    this.status = status
    this.body = body
  }
}

export async function send(method, path, body, access) {
  const headers = { accept: 'application/json' }
  if (body !== undefined) headers['content-type'] = 'application/json'
  if (access) headers.authorization = `Bearer ${access}`
  let res
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  } catch {
    throw new ApiError(0, { detail: 'The service cannot be reached. Check your connection.' })
  }
  const text = await res.text()
  let data = null
  try {
    data = text ? JSON.parse(text) : null
  } catch {
    data = null
  }
  return { status: res.status, ok: res.ok, data }
}

// One refresh at a time: parallel 401s share it, so rotation never presents a spent refresh token.
let refreshing = null
function refreshTokens() {
  refreshing ??= (async () => {
    const refresh = tokens.refresh
    if (!refresh) return false
    const res = await send('POST', `${API}/token/refresh/`, { refresh })
    if (!res.ok) return false
    tokens.set(res.data.access, res.data.refresh)
    return true
  })().finally(() => {
    refreshing = null
  })
  return refreshing
}

/** An authenticated call; an expired access token is refreshed once, a dead session signs out. */
export async function api(method, path, body) {
  let res = await send(method, path, body, tokens.access)
  if (res.status === 401 && (await refreshTokens())) res = await send(method, path, body, tokens.access)
  if (res.status === 401) throw new SignedOut(describe(res.status, res.data))
  if (!res.ok) throw new ApiError(res.status, res.data)
  return res.data
}

export function query(params) {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== undefined) q.set(k, String(v))
  return q.toString()
}
