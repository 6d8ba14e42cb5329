// Operator console: the shell. It shows the login form or the page the address names, and wires
// each page (admin/console/*.js, ES modules served as they are). The console talks only to the
// public JSON API; every piece of data reaches the page through textContent or attributes, never as
// markup. Tokens live in sessionStorage: they end with the tab.
import { API, api, SignedOut, tokens } from './console/api.js'
import { loadAudit, wireAudit } from './console/audit.js'
import { $, badge, el, show } from './console/dom.js'
import { invalidateAll, login, logout, onSignInChange, signedOut, state } from './console/session.js'
import { loadSessions, wireSessions } from './console/sessions.js'
import { loadUsers, wireUsers } from './console/users.js'
import { loadWebhooks, wireWebhooks } from './console/webhooks.js'

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

function wire() {
  $('login-form').addEventListener('submit', login)
  $('logout').addEventListener('click', logout)
  $('invalidate-open').addEventListener('click', invalidateAll)
  window.addEventListener('hashchange', () => state.me && renderShell())
  wireSessions()
  wireUsers()
  wireAudit()
  wireWebhooks()
}

/** A reload keeps the tab's sign-in: the stored token is checked (and refreshed) before use. */
async function start() {
  onSignInChange(renderShell)
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
