// Users: search, (de)activate, and reset a user's two-factor (a lost phone).
import { API, api, PAGE_SIZE, query } from './api.js'
import { confirmAction } from './confirm.js'
import { $, badge, el, notice, timeCell } from './dom.js'
import { guard, state } from './session.js'
import { emptyRow, pager } from './tables.js'

/** The search and page shown. */
const filters = { page: 1, search: '' }

export async function loadUsers() {
  const f = filters
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

export function wireUsers() {
  $('users-filters').addEventListener('submit', (event) => {
    event.preventDefault()
    Object.assign(filters, { page: 1, search: $('users-search').value.trim() })
    loadUsers()
  })
  $('users-prev').addEventListener('click', () => {
    filters.page = Math.max(1, filters.page - 1)
    loadUsers()
  })
  $('users-next').addEventListener('click', () => {
    filters.page += 1
    loadUsers()
  })
}
