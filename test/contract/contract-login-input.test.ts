import t from 'tap'
import { eachBackend, makeApp } from '../helpers/backends.js'

const LOGIN = '/api/token/'
const REQUIRED = 'This field is required.'

t.test('login input errors in DRF shape', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend)
    const post = (payload: unknown, headers: Record<string, string> = {}) =>
      h.request({ method: 'POST', url: LOGIN, payload: payload as string, headers })
    const both = { username: [REQUIRED], password: [REQUIRED] }

    const cases: [string, unknown, Record<string, unknown>][] = [
      ['missing password', { username: 'u' }, { password: [REQUIRED] }],
      ['missing username', { password: 'p' }, { username: [REQUIRED] }],
      ['empty object', {}, both],
      [
        'empty strings',
        { username: '', password: '' },
        { username: ['This field may not be blank.'], password: ['This field may not be blank.'] },
      ],
      [
        'whitespace only is blank after trimming',
        { username: '   ', password: 'p' },
        { username: ['This field may not be blank.'] },
      ],
      ['null password', { username: 'u', password: null }, { password: ['This field may not be null.'] }],
      [
        'non-string types',
        { username: true, password: { a: 1 } },
        { username: ['Not a valid string.'], password: ['Not a valid string.'] },
      ],
      ['array as username', { username: ['u'], password: 'p' }, { username: ['Not a valid string.'] }],
      [
        'JSON array body',
        [{ username: 'u' }],
        { non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] },
      ],
      [
        'invalid client_type',
        { username: 'u', password: 'p', client_type: 'x' },
        { client_type: ['"x" is not a valid choice.'] },
      ],
    ]
    for (const [name, payload, expected] of cases) {
      const res = await post(payload)
      t.equal(res.statusCode, 400, name)
      t.same(res.json(), expected, name)
    }

    const noBody = await h.request({ method: 'POST', url: LOGIN })
    t.equal(noBody.statusCode, 400, 'no body, no content type')
    t.same(noBody.json(), both)
    const emptyJson = await post('', { 'content-type': 'application/json' })
    t.equal(emptyJson.statusCode, 400, 'empty body with a JSON content type')
    t.same(emptyJson.json(), both)

    const malformed = await post('{"username": "u", ,}', { 'content-type': 'application/json' })
    t.equal(malformed.statusCode, 400, 'malformed JSON')
    t.same(Object.keys(malformed.json()), ['detail'])
    t.match(malformed.json().detail, /^JSON parse error - .+/)

    const text = await post('username=u&password=p', { 'content-type': 'text/plain' })
    t.equal(text.statusCode, 415, 'text/plain')
    t.same(text.json(), { detail: 'Unsupported media type "text/plain" in request.' })

    for (const method of ['GET', 'PUT'] as const) {
      const res = await h.request({ method, url: LOGIN })
      t.equal(res.statusCode, 405, `${method} ${LOGIN}`)
      t.same(res.json().detail, `Method "${method}" not allowed.`)
    }
    const unknown = await h.request({ method: 'GET', url: '/api/nope/' })
    t.equal(unknown.statusCode, 404, 'unknown path')
    t.equal(unknown.json().detail, 'Not found.')
  })
})
