import Ajv from 'ajv'
import t from 'tap'
import { LoginBody, RefreshBody } from '../../schema/wire.js'
import { fieldErrors, normalizeBody, nullCharacterErrors, type ObjectSchema } from '../../src/http/drf.js'

const ajv = new Ajv.default({ allErrors: true, strict: false, coerceTypes: false })
const validateLogin = ajv.compile(LoginBody)
const login = LoginBody as unknown as ObjectSchema

/** What a client gets for a login body: DRF's coercions, then the field errors (or {} when valid). */
function loginErrors(body: unknown): Record<string, string[]> {
  const data = normalizeBody(login, structuredClone(body))
  if (validateLogin(data)) return {}
  return fieldErrors(validateLogin.errors as never, data, login)
}

t.test('normalizeBody: DRF coercions', async (t) => {
  t.same(normalizeBody(login, undefined), {}, 'no body is an empty object')
  t.same(normalizeBody(login, null), {})
  t.same(normalizeBody(login, ''), {})
  t.same(normalizeBody(login, [1]), [1], 'arrays are left for the type check')
  t.same(normalizeBody(login, { username: '  a ', password: 12 }), { username: 'a', password: '12' })
  t.same(normalizeBody(login, { telegram_user_id: ' 42 ' }), { telegram_user_id: 42 })
  t.same(
    normalizeBody(login, { telegram_user_id: '4x2' }),
    { telegram_user_id: '4x2' },
    'not an integer: kept',
  )
  t.same(normalizeBody(login, { username: null }), { username: null }, 'null stays distinct from blank')
  t.same(normalizeBody(login, { password: Number.NaN }), { password: Number.NaN }, 'NaN is not a string')
  const refresh = RefreshBody as unknown as ObjectSchema
  t.same(normalizeBody(refresh, { refresh: ' a.b.c ' }), { refresh: ' a.b.c ' }, 'tokens are not trimmed')
  const flags = { properties: { on: { type: 'boolean' } } } as ObjectSchema
  for (const v of ['true', 'True', '1', 'on', 1])
    t.same(normalizeBody(flags, { on: v }), { on: true }, `${v}`)
  for (const v of ['false', '0', 'off', 0]) t.same(normalizeBody(flags, { on: v }), { on: false }, `${v}`)
  t.same(normalizeBody(flags, { on: 'maybe' }), { on: 'maybe' })
})

t.test('fieldErrors: SimpleJWT login sentences (rows 9-17)', async (t) => {
  const required = 'This field is required.'
  t.same(loginErrors({ username: 'u', password: 'p' }), {})
  t.same(loginErrors({ username: 'u' }), { password: [required] })
  t.same(loginErrors({}), { username: [required], password: [required] })
  t.same(loginErrors({ password: 'p', username: '' }), { username: ['This field may not be blank.'] })
  t.same(loginErrors({ username: 'u', password: null }), { password: ['This field may not be null.'] })
  t.same(loginErrors({ username: true, password: { a: 1 } }), {
    username: ['Not a valid string.'],
    password: ['Not a valid string.'],
  })
  t.same(loginErrors({ username: 'u', password: 5 }), {}, 'a number is a valid string')
  t.same(loginErrors([1, 2]), { non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] })
  t.same(loginErrors('text'), { non_field_errors: ['Invalid data. Expected a dictionary, but got str.'] })
  t.same(loginErrors(7), { non_field_errors: ['Invalid data. Expected a dictionary, but got int.'] })
  t.same(
    Object.keys(loginErrors({ password: null })),
    ['username', 'password'],
    "fields in the schema's order",
  )
})

t.test('fieldErrors: choices, lengths, integers', async (t) => {
  const base = { username: 'u', password: 'p' }
  const choice = (v: unknown) => loginErrors({ ...base, client_type: v }).client_type
  t.same(choice('x'), ['"x" is not a valid choice.'])
  t.same(choice(''), ['"" is not a valid choice.'])
  t.same(choice(12), ['"12" is not a valid choice.'])
  t.same(choice(true), ['"True" is not a valid choice.'])
  t.same(choice(null), ['This field may not be null.'])
  t.equal(choice('website'), undefined)
  t.equal(choice(' mobile '), undefined, 'trimmed before the choice')
  t.same(loginErrors({ ...base, username: 'u'.repeat(255) }), {
    username: ['Ensure this field has no more than 254 characters.'],
  })
  t.same(loginErrors({ ...base, telegram_user_id: 'abc' }), {
    telegram_user_id: ['A valid integer is required.'],
  })
  t.same(loginErrors({ ...base, telegram_user_id: 1.5 }), {
    telegram_user_id: ['A valid integer is required.'],
  })
  t.same(loginErrors({ ...base, telegram_user_id: null, device_name: null }), {}, 'nullable fields take null')
})

t.test('nullCharacterErrors: DRF refuses NUL in strings', async (t) => {
  t.same(nullCharacterErrors(login, { username: 'a\u0000b', password: 'p', device_name: '\u0000' }), {
    username: ['Null characters are not allowed.'],
    device_name: ['Null characters are not allowed.'],
  })
  t.equal(nullCharacterErrors(login, { username: 'ok', password: 'p' }), undefined)
  t.equal(nullCharacterErrors(login, ['\u0000']), undefined)
  t.equal(nullCharacterErrors(login, null), undefined)
})
