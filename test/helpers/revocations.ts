import type { TestApp } from './backends.js'

/** Three tokens revoked three ways, and one that stays live. */
export async function revokeThreeWays(h: TestApp) {
  const staff = await h.createUser({ isStaff: true, isSuperuser: true })
  const staffLogin = await h.login(staff.username, staff.password)
  const user = await h.createUser()
  const loggedOut = await h.login(user.username, user.password)
  await h.request({ method: 'POST', url: '/api/logout/', payload: { refresh: loggedOut.refresh } })
  // A logout that presents another session's access token denies that token by its jti alone.
  const a = await h.login(user.username, user.password)
  const b = await h.login(user.username, user.password)
  const byJti = await h.request({
    method: 'POST',
    url: '/api/logout/',
    headers: h.bearer(b.access),
    payload: { refresh: a.refresh },
  })
  if (byJti.statusCode !== 200) throw new Error(byJti.body)
  const leaver = await h.createUser()
  const leaverLogin = await h.login(leaver.username, leaver.password)
  await h.request({
    method: 'PATCH',
    url: `/api/v1/auth/users/${leaver.id}/`,
    headers: h.bearer(staffLogin.access),
    payload: { is_active: false },
  })
  return {
    revoked: {
      'logged-out session': loggedOut.access,
      'jti denied': b.access,
      deactivated: leaverLogin.access,
    },
    live: staffLogin.access,
  }
}
