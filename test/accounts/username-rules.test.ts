import t from 'tap'
import { eachBackend, makeApp, type TestApp } from '../helpers/backends.js'

const V1 = '/api/v1/auth'

const create = (app: TestApp, access: string, username: string) =>
  app.request({
    method: 'POST',
    url: `${V1}/users/`,
    headers: app.bearer(access),
    payload: { username, password: 'long enough pw' },
  })

const login = (app: TestApp, username: string, password: string) =>
  app.request({ method: 'POST', url: `${V1}/token/`, payload: { username, password } })

// Issue 25 item 15: usernames folded NFKC as Django does, and no mixed-script look-alikes.
t.test('usernames: NFKC, one script', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const app = await makeApp(t, backend)
    const admin = await app.createUser({ isStaff: true, isSuperuser: true })
    const su = (await app.login(admin.username, admin.password)).access

    await t.test('fullwidth carol is carol; ①carol is 1carol', async (t) => {
      const carol = await create(app, su, 'carol')
      t.equal(carol.statusCode, 201)
      const fullwidth = await create(app, su, 'ｃａｒｏｌ')
      t.equal(fullwidth.statusCode, 400, 'the same account')
      t.same(fullwidth.json(), { username: ['A user with that username already exists.'] })
      const circled = await create(app, su, '①carol')
      t.equal(circled.statusCode, 201)
      t.equal(circled.json().username, '1carol', 'stored folded, as Django stores it')
      t.equal((await create(app, su, '1carol')).statusCode, 400, 'and 1carol is that account')
      const byFullwidth = await login(app, 'ｃａｒｏｌ', 'long enough pw')
      t.equal(byFullwidth.statusCode, 200, 'logging in with the fullwidth name reaches carol')
      t.equal(byFullwidth.json().user_id, carol.json().id)
      t.equal((await login(app, '①carol', 'long enough pw')).json().user_id, circled.json().id)
    })

    await t.test(
      'a username mixing scripts is refused; one script (or Japanese with Latin) is fine',
      async (t) => {
        // "сarol" with a Cyrillic с (U+0441), "pаypal" with a Cyrillic а, Greek ο in "gοogle".
        for (const spoof of ['\u0441arol', 'p\u0430ypal', 'g\u03bfogle']) {
          const res = await create(app, su, spoof)
          t.equal(res.statusCode, 400, JSON.stringify(spoof))
          t.same(res.json(), {
            username: [
              'Enter a valid username. Its letters must come from one script (for example Latin or Cyrillic, not both).',
            ],
          })
        }
        for (const fine of ['сергей', 'δημήτρης_2', '山田taro', 'やまだ.タロウ', 'ivan.petrov-1']) {
          t.equal((await create(app, su, fine)).statusCode, 201, fine)
        }
      },
    )
  })
})
