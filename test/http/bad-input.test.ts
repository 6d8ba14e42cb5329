import t from 'tap'
import { eachBackend, makeApp } from '../helpers/backends.js'

/** Input a client controls answers 4xx in the contract's shape and changes nothing; never 500. */

const DATETIME =
  'Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].'

t.test('dates neither JavaScript nor PostgreSQL can hold are refused with 400', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend)
    const staff = await h.createUser({ isStaff: true, isSuperuser: true })
    const { access } = await h.login(staff.username, staff.password)
    const target = await h.createUser()
    for (const value of [
      '2030-12-31T23:59:60Z',
      '0000-01-01T00:00:00Z',
      '0001-01-01T00:30:00+01:00',
      '2024-02-30T00:00:00Z',
      '2030-13-01T00:00:00Z',
    ]) {
      const patch = await h.request({
        method: 'PATCH',
        url: `/api/v1/auth/users/${target.id}/`,
        headers: h.bearer(access),
        payload: { expiry_date: value },
      })
      t.equal(patch.statusCode, 400, `PATCH ${value}`)
      t.same(patch.json(), { expiry_date: [DATETIME] })
      const create = await h.request({
        method: 'POST',
        url: '/api/v1/auth/users/',
        headers: h.bearer(access),
        payload: {
          username: `d${Math.random().toString(36).slice(2, 8)}`,
          password: 'long enough 1',
          expiry_date: value,
        },
      })
      t.equal(create.statusCode, 400, `POST ${value}`)
      t.same(create.json(), { expiry_date: [DATETIME] })
    }
    const row = await h.app.repos.users.findById(target.id)
    t.equal(row?.expiryDate, null, 'nothing was changed')
    const ok = await h.request({
      method: 'PATCH',
      url: `/api/v1/auth/users/${target.id}/`,
      headers: h.bearer(access),
      payload: { expiry_date: '9999-12-31T23:59:59.999999Z' },
    })
    t.equal(ok.statusCode, 200, 'the last storable instant is taken')
  })
})

t.test('pagination links never carry a Host the client made up', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend, { publicUrl: 'https://auth.example.com', trustProxy: 1 })
    const staff = await h.createUser({ isStaff: true, isSuperuser: true })
    const { access } = await h.login(staff.username, staff.password)
    for (let i = 0; i < 3; i++) await h.createUser()
    const list = (host: string) =>
      h.request({
        method: 'GET',
        url: '/api/v1/auth/users/?page_size=1',
        headers: { ...h.bearer(access), host, 'x-forwarded-host': host },
      })
    // The links start with PUBLIC_URL, whatever Host (or X-Forwarded-Host) the client sent.
    for (const host of ['[', 'a:99999', 'evil.example/?#', 'x y', 'a@b', 'attacker.example', '[::1]:8000']) {
      const res = await list(host)
      t.equal(res.statusCode, 200, `Host ${JSON.stringify(host)}`)
      t.equal(res.json().next, 'https://auth.example.com/api/v1/auth/users/?page_size=1&page=2')
    }
    const sessions = await h.request({
      method: 'GET',
      url: '/api/v1/auth/admin/sessions/',
      headers: { ...h.bearer(access), host: '[' },
    })
    t.equal(sessions.statusCode, 200)
    t.match(sessions.json().results, [{}], 'the admin session list answers')
  })
})
