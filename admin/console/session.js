// The operator's sign-in: logging in (staff only), out, losing the session, and the superuser's
// "invalidate all tokens" that ends every session including this one.
import { API, api, describe, SignedOut, send, tokens } from './api.js'
import { confirmAction } from './confirm.js'
import { $, notice, setError, show } from './dom.js'

/** The signed-in operator (`/users/me/`), or null on the login form. */
export const state = { me: null }

// The shell (console.js) redraws the page on sign-in and sign-out. It imports the pages, which
// import this module, so it hands its redraw in rather than being imported here.
let renderShell = () => {}
export function onSignInChange(render) {
  renderShell = render
}

/** Runs an action; maps a lost session to the login form and any other failure to `errorNode`. */
export async function guard(errorNode, action) {
  try {
    setError(errorNode, '')
    return await action()
  } catch (err) {
    if (err instanceof SignedOut) return signedOut(`Signed out: ${err.message}`)
    setError(errorNode, err.message)
  }
}

export function signedOut(message) {
  tokens.clear()
  state.me = null
  renderShell()
  if (message) setError($('login-error'), message)
}

export async function login(event) {
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

export async function logout() {
  await endSession()
  signedOut()
  notice('You have been signed out.')
}

export async function invalidateAll() {
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
