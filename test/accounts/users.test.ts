import argon2 from 'argon2'
import t from 'tap'
import { eachBackend, makeApp } from '../helpers/backends.js'

const U = '/api/v1/auth/users'

t.test('users: list, create, get, patch', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend)
    const staff = await h.createUser({ isStaff: true, firstName: 'Stella', lastName: 'Staff' })
    const plain = await h.createUser({ firstName: 'Pat', lastName: 'Plain' })
    const staffTok = await h.login(staff.username, staff.password)
    const plainTok = await h.login(plain.username, plain.password)
    const call = (method: 'GET' | 'POST' | 'PATCH', url: string, access: string, payload?: object) =>
      h.request({ method, url, headers: h.bearer(access), payload })

    await t.test('list: staff only, paginated as DRF, searchable', async (t) => {
      const denied = await call('GET', `${U}/`, plainTok.access)
      t.equal(denied.statusCode, 403)
      t.same(denied.json(), {
        detail: 'You do not have permission to perform this action.',
        code: 'permission_denied',
      })
      t.equal((await h.request({ method: 'GET', url: `${U}/` })).statusCode, 401)

      for (let i = 0; i < 3; i++) await h.createUser({ username: `pager_${i}`, lastName: 'Pager' })
      const all = await call('GET', U, staffTok.access)
      t.equal(all.statusCode, 200)
      t.match(all.json(), { count: 5, next: null, previous: null })
      t.equal(all.json().results.length, 5)
      t.match(all.json().results[0], { id: staff.id, username: staff.username, is_staff: true })

      const p1 = (await call('GET', `${U}/?page_size=2&search=pager`, staffTok.access)).json()
      t.equal(p1.count, 3)
      t.same(
        p1.results.map((u: { username: string }) => u.username),
        ['pager_0', 'pager_1'],
      )
      t.equal(p1.previous, null)
      t.equal(p1.next, 'http://127.0.0.1:8000/api/v1/auth/users/?page_size=2&search=pager&page=2')
      const p2 = (await call('GET', p1.next.replace('http://127.0.0.1:8000', ''), staffTok.access)).json()
      t.same(
        p2.results.map((u: { username: string }) => u.username),
        ['pager_2'],
      )
      t.equal(p2.next, null)
      t.equal(p2.previous, 'http://127.0.0.1:8000/api/v1/auth/users/?page_size=2&search=pager')

      const byName = (await call('GET', `${U}/?search=STELLA`, staffTok.access)).json()
      t.same(
        byName.results.map((u: { id: number }) => u.id),
        [staff.id],
      )
      const byEmail = (await call('GET', `${U}/?search=${plain.username}@example`, staffTok.access)).json()
      t.same(
        byEmail.results.map((u: { id: number }) => u.id),
        [plain.id],
      )
      t.equal((await call('GET', `${U}/?search=%25`, staffTok.access)).json().count, 0, '% is literal')

      const capped = await call('GET', `${U}/?page_size=1000`, staffTok.access)
      t.equal(capped.statusCode, 200, 'page_size above 100 is capped')
      const past = await call('GET', `${U}/?page=9`, staffTok.access)
      t.equal(past.statusCode, 404)
      t.same(past.json(), { detail: 'Invalid page.', code: 'not_found' })
      t.equal((await call('GET', `${U}/?page=abc`, staffTok.access)).statusCode, 400)
      t.equal((await call('GET', `${U}/?page=0`, staffTok.access)).statusCode, 400)
    })

    await t.test('create: 201, hashed with argon2id, the new user can log in', async (t) => {
      const res = await call('POST', `${U}/`, staffTok.access, {
        username: 'newbie',
        email: 'Newbie@Example.com',
        password: 'correct horse battery',
        first_name: 'New',
        last_name: 'Bie',
        is_manager: true,
        expiry_date: '2999-01-01T00:00:00Z',
      })
      t.equal(res.statusCode, 201)
      t.match(res.json(), {
        username: 'newbie',
        email: 'Newbie@Example.com',
        first_name: 'New',
        is_active: true,
        is_staff: false,
        is_superuser: false,
        is_manager: true,
        client_id: null,
        profile: { expired: false, expiry_date: '2999-01-01T00:00:00.000Z' },
      })
      t.notOk('password' in res.json())
      const row = await h.app.repos.users.findById(res.json().id)
      t.match(row!.passwordHash, /^\$argon2id\$/)
      t.ok(await argon2.verify(row!.passwordHash, 'correct horse battery'))
      const login = await h.login('newbie@example.com', 'correct horse battery')
      t.equal(login.body.user_id, res.json().id)
    })

    await t.test('create: duplicates and invalid input are 400 in the DRF shape', async (t) => {
      const body = { username: 'newbie', email: 'NEWBIE@example.COM', password: 'long enough pw' }
      const both = await call('POST', `${U}/`, staffTok.access, body)
      t.equal(both.statusCode, 400)
      t.same(both.json(), {
        username: ['A user with that username already exists.'],
        email: ['A user with that email already exists.'],
      })
      const email = await call('POST', `${U}/`, staffTok.access, { ...body, username: 'other' })
      t.same(email.json(), { email: ['A user with that email already exists.'] })
      const name = await call('POST', `${U}/`, staffTok.access, { ...body, email: 'x@example.com' })
      t.same(name.json(), { username: ['A user with that username already exists.'] })

      const missing = await call('POST', `${U}/`, staffTok.access, {})
      t.equal(missing.statusCode, 400)
      t.same(missing.json(), { username: ['This field is required.'], password: ['This field is required.'] })
      const bad = await call('POST', `${U}/`, staffTok.access, {
        username: 'has space',
        password: 'long enough pw',
      })
      t.equal(bad.statusCode, 400)
      t.match(bad.json().username[0], /^Enter a valid username/)
      const badEmail = await call('POST', `${U}/`, staffTok.access, {
        ...body,
        username: 'u2',
        email: 'nope',
      })
      t.same(badEmail.json(), { email: ['Enter a valid email address.'] })
      const short = await call('POST', `${U}/`, staffTok.access, { username: 'u3', password: 'short' })
      t.same(short.json(), { password: ['Ensure this field has at least 8 characters.'] })
      const badDate = await call('POST', `${U}/`, staffTok.access, {
        username: 'u4',
        password: 'long enough pw',
        expiry_date: 'tomorrow',
      })
      t.equal(badDate.statusCode, 400)
      t.ok(badDate.json().expiry_date)
      const tenant = await call('POST', `${U}/`, staffTok.access, {
        username: 'u5',
        password: 'long enough pw',
        client_id: 1,
      })
      t.equal(tenant.statusCode, 400, 'only a superuser chooses a tenant')
      t.ok(tenant.json().client_id)
      const nul = await call('POST', `${U}/`, staffTok.access, {
        username: 'u7',
        password: 'long enough pw',
        first_name: 'a\u0000b',
      })
      t.equal(nul.statusCode, 400, 'NUL never reaches the database')
      t.same(nul.json(), { first_name: ['Null characters are not allowed.'] })
      t.same((await call('GET', `${U}/?search=a%00`, staffTok.access)).json(), {
        search: ['Null characters are not allowed.'],
      })
      for (const username of ['blank_mail_1', 'blank_mail_2']) {
        const blank = await call('POST', `${U}/`, staffTok.access, {
          username,
          email: '',
          password: 'long enough pw',
        })
        t.equal(blank.statusCode, 201, 'no e-mail is allowed, and may repeat')
        t.equal(blank.json().email, '')
      }
      const denied = await call('POST', `${U}/`, plainTok.access, {
        username: 'u6',
        password: 'long enough pw',
      })
      t.equal(denied.statusCode, 403)
      const malformed = await h.request({
        method: 'POST',
        url: `${U}/`,
        headers: { ...h.bearer(staffTok.access), 'content-type': 'application/json' },
        payload: '{"username": ',
      })
      t.equal(malformed.statusCode, 400)
    })

    await t.test('get: self or staff; users/me is not shadowed', async (t) => {
      const self = await call('GET', `${U}/${plain.id}/`, plainTok.access)
      t.equal(self.statusCode, 200)
      t.match(self.json(), { id: plain.id, username: plain.username, first_name: 'Pat' })
      const byStaff = await call('GET', `${U}/${plain.id}`, staffTok.access)
      t.equal(byStaff.statusCode, 200)
      t.equal(byStaff.json().username, plain.username)
      const other = await call('GET', `${U}/${staff.id}/`, plainTok.access)
      t.equal(other.statusCode, 403, 'a plain user may not read someone else')
      t.equal((await call('GET', `${U}/999999/`, plainTok.access)).statusCode, 403, 'nor learn who exists')
      t.equal((await call('GET', `${U}/999999/`, staffTok.access)).statusCode, 404)
      for (const id of ['abc', '0', '-3', '1e3', '99999999999']) {
        t.equal((await call('GET', `${U}/${id}/`, staffTok.access)).statusCode, 404, `id ${id}`)
      }
      for (const url of [`${U}/me/`, `${U}/me`]) {
        const me = await call('GET', url, plainTok.access)
        t.equal(me.statusCode, 200)
        t.equal(me.json().id, plain.id)
      }
    })

    await t.test('patch: staff changes fields; others may not', async (t) => {
      const res = await call('PATCH', `${U}/${plain.id}/`, staffTok.access, {
        first_name: 'Patricia',
        email: 'patricia@example.com',
        is_manager: true,
        unknown_field: 'ignored',
      })
      t.equal(res.statusCode, 200)
      t.match(res.json(), {
        first_name: 'Patricia',
        last_name: 'Plain',
        email: 'patricia@example.com',
        is_manager: true,
      })
      const self = await call('PATCH', `${U}/${plain.id}/`, plainTok.access, { is_staff: true })
      t.equal(self.statusCode, 403, 'a plain user cannot promote themself')
      const taken = await call('PATCH', `${U}/${plain.id}/`, staffTok.access, {
        email: `${staff.username}@EXAMPLE.com`,
      })
      t.equal(taken.statusCode, 400)
      t.same(taken.json(), { email: ['A user with that email already exists.'] })
      const same = await call('PATCH', `${U}/${plain.id}/`, staffTok.access, {
        email: 'PATRICIA@example.com',
      })
      t.equal(same.statusCode, 200, 'a user may keep their own address in another case')
      const nul = await call('PATCH', `${U}/${plain.id}/`, staffTok.access, { last_name: '\u0000' })
      t.same(nul.json(), { last_name: ['Null characters are not allowed.'] })
      const badDate = await call('PATCH', `${U}/${plain.id}/`, staffTok.access, {
        expiry_date: '2024-02-30T00:00:00Z',
      })
      t.equal(badDate.statusCode, 400)
      t.equal((await call('PATCH', `${U}/424242/`, staffTok.access, { first_name: 'x' })).statusCode, 404)
      t.equal(
        (await call('PATCH', `${U}/${plain.id}/`, staffTok.access, { is_active: 'perhaps' })).statusCode,
        400,
      )
    })
  })
})

t.test('deactivation and expiry stop live tokens at once', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend)
    const staff = await h.createUser({ isStaff: true })
    const target = await h.createUser()
    const op = await h.login(staff.username, staff.password)
    const one = await h.login(target.username, target.password, { client_type: 'website' })
    const two = await h.login(target.username, target.password, { client_type: 'mobile' })
    const patch = (payload: object) =>
      h.request({ method: 'PATCH', url: `${U}/${target.id}/`, headers: h.bearer(op.access), payload })
    const me = (access: string) => h.request({ method: 'GET', url: `${U}/me/`, headers: h.bearer(access) })

    await t.test('deactivating: every token answers user_inactive, login refused', async (t) => {
      const res = await patch({ is_active: false })
      t.equal(res.statusCode, 200)
      t.equal(res.json().is_active, false)
      for (const tok of [one, two]) {
        const after = await me(tok.access)
        t.equal(after.statusCode, 401)
        t.same(after.json(), { detail: 'User is inactive', code: 'user_inactive' })
        const refresh = await h.request({
          method: 'POST',
          url: '/api/v1/auth/token/refresh/',
          payload: { refresh: tok.refresh },
        })
        t.equal(refresh.statusCode, 401)
      }
      const login = await h.request({
        method: 'POST',
        url: '/api/v1/auth/token/',
        payload: { username: target.username, password: target.password },
      })
      t.equal(login.statusCode, 401)
      t.same(login.json(), { detail: 'No active account found with the given credentials' })
    })

    await t.test('reactivating: old tokens stay dead, new logins work', async (t) => {
      t.equal((await patch({ is_active: true })).statusCode, 200)
      t.equal((await me(one.access)).json().code, 'token_revoked')
      const fresh = await h.login(target.username, target.password)
      t.equal((await me(fresh.access)).statusCode, 200)
    })

    await t.test('expiry in the past: live tokens and login answer account_expired', async (t) => {
      const live = await h.login(target.username, target.password)
      const res = await patch({ expiry_date: new Date(Date.now() - 60_000).toISOString() })
      t.equal(res.statusCode, 200)
      t.equal(res.json().profile.expired, true)
      const after = await me(live.access)
      t.equal(after.statusCode, 401)
      t.equal(after.json().code, 'account_expired')
      const login = await h.request({
        method: 'POST',
        url: '/api/v1/auth/token/',
        payload: { username: target.username, password: target.password },
      })
      t.equal(login.statusCode, 401)
      t.equal(login.json().code, 'account_expired')

      const cleared = await patch({ expiry_date: null })
      t.equal(cleared.statusCode, 200)
      t.match(cleared.json().profile, { expired: false, expiry_date: null })
      t.equal((await me(live.access)).statusCode, 200, 'lifting the expiry lets the token work again')
      const future = await patch({ expiry_date: '2999-12-31T23:59:59Z' })
      t.equal(future.json().profile.expired, false)
      t.equal((await me(live.access)).statusCode, 200)
    })
  })
})

t.test('password change', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend, { loginRateLimit: 8 })
    const user = await h.createUser({ password: 'old password 1' })
    const current = await h.login(user.username, user.password)
    const other = await h.login(user.username, user.password, { client_type: 'mobile' })
    const change = (payload: object, access = current.access) =>
      h.request({ method: 'POST', url: `${U}/me/password/`, headers: h.bearer(access), payload })

    const wrong = await change({ old_password: 'not it', new_password: 'new password 2' })
    t.equal(wrong.statusCode, 400)
    t.same(wrong.json(), { old_password: ['Wrong password.'] })
    const missing = await change({})
    t.same(missing.json(), {
      old_password: ['This field is required.'],
      new_password: ['This field is required.'],
    })

    const ok = await change({ old_password: 'old password 1', new_password: 'new password 2' })
    t.equal(ok.statusCode, 200)
    t.same(ok.json(), { message: 'Password changed successfully', revoked_sessions: 1 })
    const me = (access: string) => h.request({ method: 'GET', url: `${U}/me/`, headers: h.bearer(access) })
    t.equal((await me(current.access)).statusCode, 200, 'the current session stays')
    t.equal((await me(other.access)).json().code, 'token_revoked', 'the other session is gone')
    const row = await h.app.repos.users.findById(user.id)
    t.match(row!.passwordHash, /^\$argon2id\$/)
    const oldLogin = await h.request({
      method: 'POST',
      url: '/api/v1/auth/token/',
      payload: { username: user.username, password: 'old password 1' },
    })
    t.equal(oldLogin.statusCode, 401)
    t.ok(await h.login(user.username, 'new password 2'))

    // Password checks and logins of one account spend one budget, 8 per window here: two logins,
    // the wrong guess, the change, the old and the new password's logins spent six (a body that
    // fails validation never reaches the counter); two more guesses are heard, the next is throttled.
    for (let i = 0; i < 2; i++) {
      t.equal((await change({ old_password: 'guess', new_password: 'new password 3' })).statusCode, 400)
    }
    const limited = await change({ old_password: 'guess', new_password: 'new password 3' })
    t.equal(limited.statusCode, 429)
    t.match(limited.json().detail, /^Request was throttled\. Expected available in \d+ seconds\.$/)
    t.ok(limited.headers['retry-after'])
    t.equal((await h.request({ method: 'POST', url: `${U}/me/password/` })).statusCode, 401)
  })
})
