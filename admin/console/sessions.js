// Sessions: every user's devices, filtered by client type, state and a search; staff revoke one.
import { API, api, PAGE_SIZE, query } from './api.js'
import { confirmAction } from './confirm.js'
import { $, ago, badge, el, notice, timeCell } from './dom.js'
import { guard } from './session.js'
import { emptyRow, pager } from './tables.js'

const CLIENT_LABELS = {
  website: 'Website',
  mobile: 'Mobile',
  telegram_bot: 'Telegram bot',
  unknown: 'Unknown',
}

/** The filters and page shown. */
const filters = { page: 1, client_type: '', is_active: '', search: '' }

export async function loadSessions() {
  const f = filters
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

export function wireSessions() {
  $('sessions-filters').addEventListener('submit', (event) => {
    event.preventDefault()
    Object.assign(filters, {
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
    filters.page = Math.max(1, filters.page - 1)
    loadSessions()
  })
  $('sessions-next').addEventListener('click', () => {
    filters.page += 1
    loadSessions()
  })
}
