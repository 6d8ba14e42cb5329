// Operator console. Talks only to the public JSON API; every piece of data reaches the page through
// textContent or attributes, never as markup. Tokens live in sessionStorage: they end with the tab.

const API = '/api/v1/auth'
const PAGE_SIZE = 25
const KEYS = { access: 'authjwt.console.access', refresh: 'authjwt.console.refresh' }
const CLIENT_LABELS = {
  website: 'Website',
  mobile: 'Mobile',
  telegram_bot: 'Telegram bot',
  unknown: 'Unknown',
}

const $ = (id) => document.getElementById(id)

const state = {
  me: null,
  sessions: { page: 1, client_type: '', is_active: '', search: '' },
  users: { page: 1, search: '' },
}

/** The session ended server-side (revoked, invalidated, refresh expired): back to the login form. */
class SignedOut extends Error {}

// ---- DOM helpers --------------------------------------------------------------------------------

/** Builds an element; children are nodes or strings (strings become text nodes, never markup). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue
    if (key === 'className') node.className = value
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value)
    else node.setAttribute(key, value === true ? '' : String(value))
  }
  for (const child of children) {
    if (child === null || child === undefined) continue
    node.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
  return node
}

function show(node, visible) {
  node.hidden = !visible
}

function setError(node, message) {
  node.textContent = message ?? ''
  show(node, Boolean(message))
}

let noticeTimer
function notice(message, kind = 'ok') {
  const box = $('notice')
  box.textContent = message
  box.className = `notice notice-${kind}`
  show(box, true)
  clearTimeout(noticeTimer)
  // Warnings stay until the operator acts (signs in again); confirmations fade.
  if (kind === 'ok') noticeTimer = setTimeout(() => show(box, false), 6000)
}

/** `2024-01-15T12:30:00Z` -> `2024-01-15 12:30` (`:00` kept with `seconds`); the full value stays in the title. */
function timeCell(iso, seconds = false) {
  if (!iso) return el('td', { className: 'muted' }, '—')
  const text = iso.replace('T', ' ').replace(seconds ? /(\.\d+)?Z$/ : /:\d\d(\.\d+)?Z$/, '')
  return el('td', { className: 'nowrap' }, el('time', { datetime: iso, title: iso }, text))
}

function ago(iso) {
  if (!iso) return '—'
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000))
  if (seconds < 60) return 'just now'
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`
  return `${Math.floor(seconds / 86400)} d ago`
}

function badge(text, kind) {
  return el('span', { className: `badge badge-${kind}` }, text)
}

// ---- API ----------------------------------------------------------------------------------------

const tokens = {
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
function describe(status, body) {
  if (body && typeof body === 'object') {
    if (typeof body.detail === 'string') return body.detail
    const fields = Object.entries(body).filter(([, v]) => Array.isArray(v))
    if (fields.length) return fields.map(([k, v]) => `${k}: ${v.join(' ')}`).join(' · ')
    if (body.code === 'service_unavailable')
      return 'The service is temporarily unavailable. Try again shortly.'
  }
  return `The request failed (HTTP ${status}).`
}

class ApiError extends Error {
  constructor(status, body) {
    super(describe(status, body))
    this.status = status
    this.body = body
  }
}

async function send(method, path, body, access) {
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
async function api(method, path, body) {
  let res = await send(method, path, body, tokens.access)
  if (res.status === 401 && (await refreshTokens())) res = await send(method, path, body, tokens.access)
  if (res.status === 401) throw new SignedOut(describe(res.status, res.data))
  if (!res.ok) throw new ApiError(res.status, res.data)
  return res.data
}

function query(params) {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== undefined) q.set(k, String(v))
  return q.toString()
}

/** Runs an action; maps a lost session to the login form and any other failure to `errorNode`. */
async function guard(errorNode, action) {
  try {
    setError(errorNode, '')
    return await action()
  } catch (err) {
    if (err instanceof SignedOut) return signedOut(`Signed out: ${err.message}`)
    setError(errorNode, err.message)
  }
}

// ---- login / logout -----------------------------------------------------------------------------

function signedOut(message) {
  tokens.clear()
  state.me = null
  renderShell()
  if (message) setError($('login-error'), message)
}

async function login(event) {
  event.preventDefault()
  const username = $('login-username').value.trim()
  const password = $('login-password').value
  const errorNode = $('login-error')
  if (!username || !password) return setError(errorNode, 'Enter your username and password.')
  const submit = $('login-submit')
  submit.disabled = true
  try {
    const res = await send('POST', `${API}/token/`, {
      username,
      password,
      client_type: 'website',
      device_name: 'Admin console',
    })
    if (!res.ok) return setError(errorNode, describe(res.status, res.data))
    tokens.set(res.data.access, res.data.refresh)
    const me = await api('GET', `${API}/users/me/`)
    if (!me.is_staff && !me.is_superuser) {
      await endSession()
      return setError(errorNode, 'This console is for staff only. Your account is not a staff account.')
    }
    state.me = me
    $('login-password').value = ''
    setError(errorNode, '')
    show($('notice'), false)
    renderShell()
  } catch (err) {
    tokens.clear()
    setError(errorNode, err.message)
  } finally {
    submit.disabled = false
  }
}

/** Revokes this console's session server-side; the local tokens go whatever the answer. */
async function endSession() {
  const { access, refresh } = tokens
  tokens.clear()
  if (refresh) await send('POST', `${API}/logout/`, { refresh }, access).catch(() => {})
}

async function logout() {
  await endSession()
  signedOut()
  notice('You have been signed out.')
}

// ---- shell / routing ----------------------------------------------------------------------------

function currentView() {
  if (location.hash === '#webhooks' && state.me?.is_superuser) return 'webhooks'
  if (location.hash === '#audit') return 'audit'
  return location.hash === '#users' ? 'users' : 'sessions'
}

function renderShell() {
  const me = state.me
  show($('login-view'), !me)
  show($('nav'), Boolean(me))
  show($('account'), Boolean(me))
  if (!me) {
    show($('sessions-view'), false)
    show($('users-view'), false)
    show($('audit-view'), false)
    show($('webhooks-view'), false)
    $('login-username').focus()
    return
  }
  const role = me.is_superuser ? 'superuser' : 'staff'
  $('whoami').replaceChildren(el('span', { className: 'user' }, me.username), ' ', badge(role, 'role'))
  show($('invalidate-open'), Boolean(me.is_superuser))
  show($('tab-webhooks'), Boolean(me.is_superuser))
  const view = currentView()
  for (const name of ['sessions', 'users', 'audit', 'webhooks']) {
    show($(`${name}-view`), view === name)
    const tab = $(`tab-${name}`)
    if (view === name) tab.setAttribute('aria-current', 'page')
    else tab.removeAttribute('aria-current')
  }
  if (view === 'users') loadUsers()
  else if (view === 'audit') loadAudit()
  else if (view === 'webhooks') loadWebhooks()
  else loadSessions()
}

// ---- sessions -----------------------------------------------------------------------------------

function pager(prefix, data, page) {
  const pages = Math.max(1, Math.ceil(data.count / PAGE_SIZE))
  const first = data.count === 0 ? 0 : (page - 1) * PAGE_SIZE + 1
  const last = (page - 1) * PAGE_SIZE + data.results.length
  $(`${prefix}-count`).textContent = `${first}–${last} of ${data.count}`
  $(`${prefix}-page`).textContent = `Page ${page} of ${pages}`
  $(`${prefix}-prev`).disabled = !data.previous
  $(`${prefix}-next`).disabled = !data.next
}

function emptyRow(columns, text) {
  return el('tr', { className: 'empty' }, el('td', { colspan: columns }, text))
}

async function loadSessions() {
  const f = state.sessions
  const body = $('sessions-body')
  body.setAttribute('aria-busy', 'true')
  await guard($('sessions-error'), async () => {
    const q = query({
      page: f.page,
      page_size: PAGE_SIZE,
      client_type: f.client_type,
      is_active: f.is_active,
      search: f.search,
    })
    const data = await api('GET', `${API}/admin/sessions/?${q}`)
    body.replaceChildren(...data.results.map(sessionRow))
    if (!data.results.length) body.append(emptyRow(9, 'No sessions match these filters.'))
    pager('sessions', data, f.page)
  })
  body.removeAttribute('aria-busy')
}

function sessionRow(s) {
  // Without a device name the user agent says what the client was.
  const device = s.device_name || s.user_agent || ''
  const deviceCell = el('td', { className: 'device', title: s.user_agent ?? '' }, device || '—')
  if (!s.device_name && s.user_agent) deviceCell.classList.add('muted')
  // The operator's own session: ending it is what "Log out" is for.
  if (s.is_current) deviceCell.prepend(badge('this console', 'info'))
  const action =
    s.is_active && !s.is_current
      ? el(
          'button',
          {
            type: 'button',
            className: 'btn btn-small btn-danger-outline',
            'aria-label': `Revoke session ${s.id} of ${s.username ?? 'user'}`,
            onclick: () => revokeSession(s),
          },
          'Revoke',
        )
      : null
  return el(
    'tr',
    { 'data-session-id': s.id, className: s.is_active ? '' : 'inactive' },
    el('td', {}, el('span', { className: 'user' }, s.username ?? `#${s.user_id}`)),
    el('td', {}, badge(CLIENT_LABELS[s.client_type] ?? s.client_type, `client-${s.client_type}`)),
    deviceCell,
    el('td', { className: 'mono' }, s.ip_address ?? '—'),
    timeCell(s.created_at),
    el(
      'td',
      { className: 'nowrap' },
      el('time', { datetime: s.last_activity, title: s.last_activity }, ago(s.last_activity)),
    ),
    timeCell(s.expires_at),
    el('td', {}, s.is_active ? badge('Active', 'ok') : badge('Ended', 'off')),
    el('td', { className: 'actions' }, action),
  )
}

async function revokeSession(s) {
  const who = s.username ?? `user #${s.user_id}`
  const ok = await confirmAction({
    title: 'Revoke session',
    text: `${who} will be signed out on ${CLIENT_LABELS[s.client_type] ?? s.client_type}${s.device_name ? ` (${s.device_name})` : ''} at once.`,
    action: 'Revoke session',
  })
  if (!ok) return
  await guard($('sessions-error'), async () => {
    await api('POST', `${API}/admin/sessions/${encodeURIComponent(s.id)}/revoke/`)
    notice(`Session ${s.id} of ${who} revoked.`)
    await loadSessions()
  })
}

// ---- users --------------------------------------------------------------------------------------

async function loadUsers() {
  const f = state.users
  const body = $('users-body')
  body.setAttribute('aria-busy', 'true')
  await guard($('users-error'), async () => {
    const data = await api(
      'GET',
      `${API}/users/?${query({ page: f.page, page_size: PAGE_SIZE, search: f.search })}`,
    )
    body.replaceChildren(...data.results.map(userRow))
    if (!data.results.length) body.append(emptyRow(10, 'No users match this search.'))
    pager('users', data, f.page)
  })
  body.removeAttribute('aria-busy')
}

function userRow(u) {
  const roles = []
  if (u.is_superuser) roles.push(badge('superuser', 'role'))
  else if (u.is_staff) roles.push(badge('staff', 'role'))
  if (u.is_manager) roles.push(badge('manager', 'info'))
  const name = [u.first_name, u.last_name].filter(Boolean).join(' ')
  const self = state.me && u.id === state.me.id
  const action = el(
    'button',
    {
      type: 'button',
      className: u.is_active ? 'btn btn-small btn-danger-outline' : 'btn btn-small',
      disabled: self,
      title: self ? 'You cannot deactivate your own account here' : undefined,
      'aria-label': `${u.is_active ? 'Deactivate' : 'Activate'} ${u.username}`,
      onclick: () => setActive(u, !u.is_active),
    },
    u.is_active ? 'Deactivate' : 'Activate',
  )
  // Staff may turn off a user's two-factor (a lost phone); the server applies the tenant rules.
  const twoFactor = u.mfa_enabled
    ? [
        badge('On', 'ok'),
        el(
          'button',
          {
            type: 'button',
            className: 'btn btn-small btn-danger-outline',
            'aria-label': `Reset two-factor of ${u.username}`,
            onclick: () => resetTwoFactor(u),
          },
          'Reset',
        ),
      ]
    : ['—']
  const state_ = u.profile?.expired
    ? badge('Expired', 'warn')
    : u.is_active
      ? badge('Active', 'ok')
      : badge('Inactive', 'off')
  return el(
    'tr',
    { 'data-user-id': u.id, className: u.is_active ? '' : 'inactive' },
    el('td', { className: 'mono' }, u.id),
    el('td', {}, el('span', { className: 'user' }, u.username)),
    el('td', {}, u.email || '—'),
    el('td', {}, name || '—'),
    el('td', {}, u.client_name || '—'),
    el('td', {}, ...(roles.length ? roles : ['—'])),
    el('td', { className: 'two-factor' }, ...twoFactor),
    timeCell(u.last_login),
    el('td', {}, state_),
    el('td', { className: 'actions' }, action),
  )
}

async function setActive(u, active) {
  if (!active) {
    const ok = await confirmAction({
      title: 'Deactivate user',
      text: `${u.username} will be signed out everywhere and cannot sign in until reactivated.`,
      action: 'Deactivate',
    })
    if (!ok) return
  }
  await guard($('users-error'), async () => {
    await api('PATCH', `${API}/users/${encodeURIComponent(u.id)}/`, { is_active: active })
    notice(`${u.username} ${active ? 'activated' : 'deactivated'}.`)
    await loadUsers()
  })
}

async function resetTwoFactor(u) {
  const ok = await confirmAction({
    title: 'Reset two-factor',
    text: `${u.username} will sign in with the password alone until they turn two-factor on again.`,
    action: 'Reset two-factor',
  })
  if (!ok) return
  await guard($('users-error'), async () => {
    await api('DELETE', `${API}/users/${encodeURIComponent(u.id)}/mfa/`)
    notice(`Two-factor of ${u.username} is off.`)
    await loadUsers()
  })
}

// ---- invalidate all tokens ----------------------------------------------------------------------

async function invalidateAll() {
  const ok = await confirmAction({
    title: 'Invalidate all tokens',
    text: 'Every access and refresh token of every user stops working at once, including this console. Everyone must sign in again.',
    action: 'Invalidate all tokens',
    typed: 'INVALIDATE',
  })
  if (!ok) return
  try {
    const data = await api('POST', `${API}/admin/invalidate-all-tokens/`)
    // The console's own token died with the rest: leave cleanly and say why.
    tokens.clear()
    signedOut()
    const n = data?.revoked_sessions
    notice(
      `All tokens invalidated${typeof n === 'number' ? ` (${n} session${n === 1 ? '' : 's'} ended)` : ''}. Sign in again to continue.`,
      'warn',
    )
  } catch (err) {
    if (err instanceof SignedOut) return signedOut(`Signed out: ${err.message}`)
    notice(err.message, 'error')
  }
}

// ---- confirmation dialog ------------------------------------------------------------------------

/** Resolves true when the operator confirms; `typed` demands a word typed exactly. */
function confirmAction({ title, text, action, typed }) {
  const dialog = $('confirm-dialog')
  const input = $('confirm-input')
  const ok = $('confirm-ok')
  $('confirm-title').textContent = title
  $('confirm-text').textContent = text
  ok.textContent = action
  show($('confirm-typed'), Boolean(typed))
  $('confirm-word').textContent = typed ?? ''
  input.value = ''
  ok.disabled = Boolean(typed)
  input.oninput = () => {
    ok.disabled = input.value.trim() !== typed
  }
  return new Promise((resolve) => {
    const finish = (result) => {
      dialog.onclose = null
      $('confirm-cancel').onclick = null
      $('confirm-form').onsubmit = null
      if (dialog.open) dialog.close()
      resolve(result)
    }
    $('confirm-cancel').onclick = () => finish(false)
    dialog.onclose = () => finish(false)
    $('confirm-form').onsubmit = (event) => {
      event.preventDefault()
      if (typed && input.value.trim() !== typed) return
      finish(true)
    }
    dialog.showModal()
    ;(typed ? input : $('confirm-cancel')).focus()
  })
}

// ---- webhooks (superusers) ---------------------------------------------------------------------

const HOOKS = `${API}/admin/webhooks`
const DELIVERY_BADGES = { delivered: 'ok', pending: 'warn', failed: 'off' }

/** The endpoint whose deliveries are shown, and the page of them. */
const hooks = { endpoint: null, page: 1 }

async function loadWebhooks() {
  const body = $('webhooks-body')
  body.setAttribute('aria-busy', 'true')
  await guard($('webhooks-error'), async () => {
    const [data] = await Promise.all([
      api('GET', `${HOOKS}/?page_size=100`),
      fillEventTypes($('webhook-types')),
    ])
    body.replaceChildren(...data.results.map(webhookRow))
    if (!data.results.length) body.append(emptyRow(7, 'No endpoints yet. Register one above.'))
    // The shown endpoint may have been deleted meanwhile.
    const still = hooks.endpoint && data.results.find((e) => e.id === hooks.endpoint.id)
    if (still) await showDeliveries(still, hooks.page)
    else closeDeliveries()
  })
  body.removeAttribute('aria-busy')
}

function webhookRow(e) {
  const events = e.event_types.length
    ? el('td', { className: 'events' }, ...e.event_types.map((type) => badge(type, 'info')))
    : el('td', { className: 'muted' }, 'All events')
  const small = (label, text, onclick, danger) =>
    el(
      'button',
      {
        type: 'button',
        className: danger ? 'btn btn-small btn-danger-outline' : 'btn btn-small',
        'aria-label': `${label} endpoint ${e.id}`,
        onclick,
      },
      text,
    )
  return el(
    'tr',
    { 'data-webhook-id': e.id, className: e.is_active ? '' : 'inactive' },
    el('td', { className: 'mono' }, e.id),
    el('td', { className: 'mono webhook-url', title: e.url }, e.url),
    el('td', {}, e.description || '—'),
    events,
    el('td', {}, e.is_active ? badge('Active', 'ok') : badge('Disabled', 'off')),
    timeCell(e.created_at),
    el(
      'td',
      { className: 'actions' },
      small('Show deliveries of', 'Deliveries', () => showDeliveries(e, 1)),
      e.is_active
        ? small('Disable', 'Disable', () => setWebhookActive(e, false))
        : small('Enable', 'Enable', () => setWebhookActive(e, true)),
      small('Delete', 'Delete', () => deleteWebhook(e), true),
    ),
  )
}

async function registerWebhook(event) {
  event.preventDefault()
  const url = $('webhook-url').value.trim()
  if (!url) return setError($('webhooks-error'), 'Enter the URL of the endpoint.')
  const event_types = [...$('webhook-types').selectedOptions].map((o) => o.value)
  const description = $('webhook-description').value.trim()
  $('webhook-submit').disabled = true
  await guard($('webhooks-error'), async () => {
    const created = await api('POST', `${HOOKS}/`, { url, event_types, description })
    // The secret is in this answer only: shown once, never stored by the console.
    $('webhook-secret-url').textContent = created.url
    $('webhook-secret-value').textContent = created.secret
    show($('webhook-secret'), true)
    $('webhook-form').reset()
    notice(`Endpoint ${created.id} registered.`)
    await loadWebhooks()
  })
  $('webhook-submit').disabled = false
}

function hideSecret() {
  $('webhook-secret-value').textContent = ''
  show($('webhook-secret'), false)
}

async function setWebhookActive(e, active) {
  await guard($('webhooks-error'), async () => {
    await api('PATCH', `${HOOKS}/${encodeURIComponent(e.id)}/`, { is_active: active })
    notice(
      `Endpoint ${e.id} ${active ? 'enabled: waiting deliveries are sent' : 'disabled: deliveries wait'}.`,
    )
    await loadWebhooks()
  })
}

async function deleteWebhook(e) {
  const ok = await confirmAction({
    title: 'Delete endpoint',
    text: `${e.url} will receive nothing more; its deliveries and their history are deleted.`,
    action: 'Delete endpoint',
  })
  if (!ok) return
  await guard($('webhooks-error'), async () => {
    await api('DELETE', `${HOOKS}/${encodeURIComponent(e.id)}/`)
    if (hooks.endpoint?.id === e.id) closeDeliveries()
    notice(`Endpoint ${e.id} deleted.`)
    await loadWebhooks()
  })
}

function closeDeliveries() {
  hooks.endpoint = null
  show($('deliveries-panel'), false)
}

async function showDeliveries(e, page) {
  hooks.endpoint = e
  hooks.page = page
  $('deliveries-title').textContent = `Deliveries to ${e.url}`
  show($('deliveries-panel'), true)
  const body = $('deliveries-body')
  body.setAttribute('aria-busy', 'true')
  await guard($('webhooks-error'), async () => {
    const q = query({ page, page_size: PAGE_SIZE })
    const data = await api('GET', `${HOOKS}/${encodeURIComponent(e.id)}/deliveries/?${q}`)
    body.replaceChildren(...data.results.map(deliveryRow))
    if (!data.results.length) body.append(emptyRow(8, 'Nothing sent to this endpoint yet.'))
    pager('deliveries', data, page)
  })
  body.removeAttribute('aria-busy')
}

function deliveryRow(d) {
  const toggle = el(
    'button',
    {
      type: 'button',
      className: 'btn btn-small',
      'aria-expanded': 'false',
      'aria-label': `Attempts of delivery ${d.id}`,
      onclick: () => toggleAttempts(d, row, toggle),
    },
    'Attempts',
  )
  const replay = el(
    'button',
    {
      type: 'button',
      className: 'btn btn-small',
      'aria-label': `Replay delivery ${d.id}`,
      onclick: () => replayDelivery(d),
    },
    'Replay',
  )
  const row = el(
    'tr',
    { 'data-delivery-id': d.id },
    el('td', { className: 'mono' }, d.id),
    el('td', {}, d.event_type),
    el('td', { className: 'mono', title: 'webhook-id' }, d.message_id),
    el('td', {}, badge(d.status, DELIVERY_BADGES[d.status] ?? 'info')),
    el('td', {}, d.attempts),
    el('td', { className: 'mono' }, d.last_status ?? '—'),
    timeCell(d.created_at),
    el('td', { className: 'actions' }, toggle, replay),
  )
  return row
}

/** Opens (or closes) a row under the delivery with each attempt at it. */
async function toggleAttempts(d, row, toggle) {
  const open = row.nextElementSibling?.dataset.attemptsOf === String(d.id)
  if (open) {
    row.nextElementSibling.remove()
    toggle.setAttribute('aria-expanded', 'false')
    return
  }
  await guard($('webhooks-error'), async () => {
    const data = await api('GET', `${HOOKS}/deliveries/${encodeURIComponent(d.id)}/attempts/`)
    const lines = data.results.map((a) =>
      el(
        'tr',
        {},
        timeCell(a.attempted_at),
        el('td', { className: 'mono' }, a.status_code ?? '—'),
        el('td', { className: 'mono' }, `${a.latency_ms} ms`),
        el('td', {}, a.error ?? 'delivered'),
        el('td', { className: 'mono excerpt' }, a.response_excerpt ?? '—'),
      ),
    )
    const table = el(
      'table',
      { className: 'grid attempts' },
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          ...['Attempted (UTC)', 'Status', 'Latency', 'Outcome', 'Response excerpt'].map((h) =>
            el('th', { scope: 'col' }, h),
          ),
        ),
      ),
      el('tbody', {}, ...(lines.length ? lines : [emptyRow(5, 'Not tried yet.')])),
    )
    row.after(
      el('tr', { className: 'attempts-row', 'data-attempts-of': d.id }, el('td', { colspan: 8 }, table)),
    )
    toggle.setAttribute('aria-expanded', 'true')
  })
}

async function replayDelivery(d) {
  await guard($('webhooks-error'), async () => {
    const copy = await api('POST', `${HOOKS}/deliveries/${encodeURIComponent(d.id)}/replay/`)
    notice(`Delivery ${d.id} replayed as delivery ${copy.id} (same webhook-id).`)
    if (hooks.endpoint) await showDeliveries(hooks.endpoint, 1)
  })
}

function wireWebhooks() {
  $('webhook-form').addEventListener('submit', registerWebhook)
  $('webhook-secret-done').addEventListener('click', hideSecret)
  $('deliveries-refresh').addEventListener(
    'click',
    () => hooks.endpoint && showDeliveries(hooks.endpoint, hooks.page),
  )
  $('deliveries-prev').addEventListener('click', () =>
    showDeliveries(hooks.endpoint, Math.max(1, hooks.page - 1)),
  )
  $('deliveries-next').addEventListener('click', () => showDeliveries(hooks.endpoint, hooks.page + 1))
}

// ---- event types (shared by Audit and Webhooks) --------------------------------------------------

// The service owns the list (schema/audit.ts): fetched once per page load, on first need.
let eventTypesRequest = null
function eventTypes() {
  eventTypesRequest ??= api('GET', `${API}/admin/audit/event-types/`).then(
    (data) => data.event_types,
    (err) => {
      eventTypesRequest = null // tried again on the next need
      throw err
    },
  )
  return eventTypesRequest
}

/** Appends an option per event type to `select`, once, after the options it already has. */
async function fillEventTypes(select) {
  if (select.dataset.filled) return
  select.dataset.filled = 'pending'
  try {
    const types = await eventTypes()
    select.append(...types.map((type) => el('option', { value: type }, type)))
    select.dataset.filled = 'done'
  } catch (err) {
    delete select.dataset.filled
    throw err
  }
}

// ---- audit (all staff; the server keeps tenant staff to their tenant) ---------------------------

const AUDIT = `${API}/admin/audit`
/** The filters as sent, the cursor of each page seen ('' = newest; the last is shown), the next one. */
const audit = { filters: null, cursors: [''], next: null, seq: 0, owner: null }

/** A datetime-local value, read as UTC like the table, as ISO 8601; `end` includes its whole minute. */
function utcIso(value, end) {
  if (!value) return ''
  const date = new Date(`${value}${value.length > 16 ? '' : end ? ':59.999' : ':00'}Z`)
  return Number.isNaN(date.getTime()) ? '' : date.toISOString()
}

function readAuditFilters() {
  return {
    user_id: $('audit-user').value.trim(),
    type: $('audit-type').value,
    ip: $('audit-ip').value.trim(),
    since: utcIso($('audit-since').value, false),
    until: utcIso($('audit-until').value, true),
    page_size: Number($('audit-size').value),
  }
}

/** Alerts stand out in red, refusals and failures in amber. */
function eventKind(type) {
  if (type.startsWith('suspicious.') || type === 'token.reuse_detected') return 'alert'
  if (type.endsWith('.failed') || type === 'rate_limit.hit') return 'warn'
  return 'event'
}

/** `{reason: 'wrong_password', fields: ['email']}` -> `reason=wrong_password fields=["email"]`. */
function detailsText(details) {
  return Object.entries(details ?? {})
    .map(([key, value]) => {
      const plain = typeof value === 'string' && !/[\s="]/.test(value)
      return `${key}=${plain ? value : JSON.stringify(value)}`
    })
    .join(' ')
}

async function loadAudit() {
  audit.filters ??= readAuditFilters()
  // Another operator signed in on this tab: start again from the newest page.
  if (audit.owner !== state.me?.id) Object.assign(audit, { owner: state.me?.id, cursors: [''] })
  const seq = ++audit.seq
  const body = $('audit-body')
  body.setAttribute('aria-busy', 'true')
  for (const id of ['audit-newest', 'audit-newer', 'audit-older']) $(id).disabled = true
  await guard($('audit-error'), async () => {
    const page = audit.cursors.length
    const [data] = await Promise.all([
      api('GET', `${AUDIT}/?${query({ ...audit.filters, cursor: audit.cursors[page - 1] })}`),
      fillEventTypes($('audit-type')),
    ])
    if (seq !== audit.seq) return // a newer load is under way
    body.replaceChildren(...data.results.map(auditRow))
    if (!data.results.length)
      body.append(emptyRow(9, page > 1 ? 'No older events.' : 'No events match these filters.'))
    audit.next = data.next_cursor
    const first = (page - 1) * audit.filters.page_size + 1
    $('audit-count').textContent = data.results.length
      ? `Events ${first}–${first + data.results.length - 1}, newest first`
      : ''
    $('audit-page').textContent = `Page ${page}`
    $('audit-newest').disabled = page === 1
    $('audit-newer').disabled = page === 1
    $('audit-older').disabled = !data.next_cursor
  })
  if (seq === audit.seq) body.removeAttribute('aria-busy')
}

function auditRow(e) {
  const id = (value) =>
    value === null || value === undefined
      ? el('td', { className: 'muted' }, '—')
      : el('td', { className: 'mono' }, value)
  // The username the row recorded (as it was then) beside the id, which is what filters take.
  const who = (value, username) =>
    value === null || value === undefined
      ? el('td', { className: 'muted' }, '—')
      : el(
          'td',
          { className: 'nowrap' },
          username ? el('span', { className: 'user' }, username) : null,
          username ? ' ' : null,
          el('span', { className: 'mono muted user-id' }, value),
        )
  // Client-supplied values (user agent, details) go in as text: markup in them stays text.
  return el(
    'tr',
    { 'data-audit-id': e.id, 'data-type': e.type },
    timeCell(e.at, true),
    el('td', {}, badge(e.type, eventKind(e.type))),
    who(e.user_id, e.username),
    who(e.actor_id, e.actor_username),
    id(e.session_id),
    el('td', { className: 'mono nowrap' }, e.ip ?? '—'),
    el('td', { className: 'user-agent', title: e.user_agent }, e.user_agent ?? '—'),
    el('td', { className: 'mono request-id', title: e.request_id }, e.request_id ?? '—'),
    el('td', { className: 'mono details' }, detailsText(e.details) || '—'),
  )
}

function wireAudit() {
  $('audit-filters').addEventListener('submit', (event) => {
    event.preventDefault()
    audit.filters = readAuditFilters()
    audit.cursors = ['']
    loadAudit()
  })
  for (const id of ['audit-type', 'audit-size']) {
    $(id).addEventListener('change', () => $('audit-filters').requestSubmit())
  }
  $('audit-older').addEventListener('click', () => {
    if (!audit.next) return
    audit.cursors.push(audit.next)
    loadAudit()
  })
  $('audit-newer').addEventListener('click', () => {
    if (audit.cursors.length > 1) audit.cursors.pop()
    loadAudit()
  })
  $('audit-newest').addEventListener('click', () => {
    audit.cursors = ['']
    loadAudit()
  })
}

// ---- wiring -------------------------------------------------------------------------------------

function wire() {
  $('login-form').addEventListener('submit', login)
  $('logout').addEventListener('click', logout)
  $('invalidate-open').addEventListener('click', invalidateAll)
  window.addEventListener('hashchange', () => state.me && renderShell())

  $('sessions-filters').addEventListener('submit', (event) => {
    event.preventDefault()
    Object.assign(state.sessions, {
      page: 1,
      client_type: $('filter-client').value,
      is_active: $('filter-active').value,
      search: $('filter-search').value.trim(),
    })
    loadSessions()
  })
  // Select changes apply at once; the search box waits for Enter or the button.
  for (const id of ['filter-client', 'filter-active']) {
    $(id).addEventListener('change', () => $('sessions-filters').requestSubmit())
  }
  $('sessions-prev').addEventListener('click', () => {
    state.sessions.page = Math.max(1, state.sessions.page - 1)
    loadSessions()
  })
  $('sessions-next').addEventListener('click', () => {
    state.sessions.page += 1
    loadSessions()
  })

  $('users-filters').addEventListener('submit', (event) => {
    event.preventDefault()
    Object.assign(state.users, { page: 1, search: $('users-search').value.trim() })
    loadUsers()
  })
  $('users-prev').addEventListener('click', () => {
    state.users.page = Math.max(1, state.users.page - 1)
    loadUsers()
  })
  $('users-next').addEventListener('click', () => {
    state.users.page += 1
    loadUsers()
  })
  wireAudit()
  wireWebhooks()
}

/** A reload keeps the tab's sign-in: the stored token is checked (and refreshed) before use. */
async function start() {
  wire()
  if (!tokens.refresh) return renderShell()
  try {
    const me = await api('GET', `${API}/users/me/`)
    if (me.is_staff || me.is_superuser) state.me = me
    else tokens.clear()
    renderShell()
  } catch (err) {
    signedOut(err instanceof SignedOut ? 'Your session has ended. Please sign in again.' : err.message)
  }
}

start()
