import { type Static, Type } from '@sinclair/typebox'
import { ClientTypeField, Jwt, Nullable } from './wire-fields.js'

export * from './wire-accounts.js'
export * from './wire-errors.js'

// ---- tokens ---------------------------------------------------------------------------------

const loginFields = {
  password: Type.String({ minLength: 1, maxLength: 4096 }),
  client_type: Type.Optional(ClientTypeField({ default: 'unknown' })),
  device_name: Type.Optional(
    Nullable(
      Type.String({ maxLength: 255, description: 'A name the user recognises in their session list' }),
    ),
  ),
  telegram_user_id: Type.Optional(Nullable(Type.Integer({ minimum: -(2 ** 53) + 1, maximum: 2 ** 53 - 1 }))),
  telegram_username: Type.Optional(Nullable(Type.String({ maxLength: 255 }))),
  token_transport: Type.Optional(
    Type.Unsafe<'body' | 'cookie'>({
      type: 'string',
      enum: ['body', 'cookie'],
      description:
        '`cookie`: the refresh token is set in an HttpOnly cookie instead of the body, for browsers (needs a trusted Origin; README "Cookie mode"). Default `body`, or `cookie` for the client types of REFRESH_COOKIE_CLIENT_TYPES.',
    }),
  ),
}

export const LoginBody = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 254, description: 'A username or an e-mail address' }),
  login: Type.Optional(Type.String({ description: 'Alias of username' })),
  email: Type.Optional(Type.String({ description: 'Alias of username' })),
  ...loginFields,
})

/**
 * The login body as the document shows it: the account named by exactly one of `username`, `email`
 * or `login` (the route copies `email` or `login` into `username` before validating LoginBody).
 */
export const LoginBodyDocumented = Type.Unsafe<Static<typeof LoginBody>>({
  oneOf: [
    Type.Object(
      {
        username: Type.String({
          minLength: 1,
          maxLength: 254,
          description: 'A username or an e-mail address',
        }),
        ...loginFields,
      },
      { title: 'By username' },
    ),
    Type.Object(
      {
        email: Type.String({ minLength: 1, maxLength: 254, description: "The account's e-mail address" }),
        ...loginFields,
      },
      { title: 'By e-mail' },
    ),
    Type.Object(
      {
        login: Type.String({ minLength: 1, maxLength: 254, description: 'A username or an e-mail address' }),
        ...loginFields,
      },
      { title: "By login (the seeds' name for username)" },
    ),
  ],
  description: 'The account, by exactly one of username, email or login, and its password',
})

export const LoginUser = Type.Object({
  id: Type.Integer(),
  username: Type.String(),
  email: Type.String(),
  first_name: Type.String(),
  last_name: Type.String(),
})

const CsrfToken = Type.String({
  description: 'Cookie mode only: the value to send as X-CSRF-Token (also in the CSRF cookie)',
})

export const LoginResponse = Type.Object({
  // Required, though cookie mode leaves it out (src/cookies/hooks.ts serializes that answer itself):
  // fast-json-stringify writes required fields first, and body mode must keep SimpleJWT's order.
  refresh: Type.String({
    minLength: 1,
    description: 'A JSON Web Token; absent in cookie mode (it is in the HttpOnly cookie)',
  }),
  access: Jwt,
  user: LoginUser,
  session_id: Type.Integer(),
  user_id: Type.Integer(),
  username: Type.String(),
  email: Type.String(),
  client_id: Nullable(Type.Integer()),
  client_name: Nullable(Type.String()),
  csrf_token: Type.Optional(CsrfToken),
})

export const RefreshBody = Type.Object({ refresh: Type.String({ minLength: 1, 'x-no-trim': true }) })
/** As the document shows it: in cookie mode the token comes in the refresh cookie instead. */
export const RefreshBodyDocumented = Type.Unsafe<Static<typeof RefreshBody>>(
  Type.Object({
    refresh: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'The refresh token; leave it out in cookie mode (the cookie and X-CSRF-Token carry it)',
      }),
    ),
  }),
)
export const RefreshResponse = Type.Object({
  access: Jwt,
  refresh: Type.Optional(Jwt),
  csrf_token: Type.Optional(CsrfToken),
})
export const VerifyBody = Type.Object({ token: Type.String({ minLength: 1, 'x-no-trim': true }) })
export const Empty = Type.Object({}, { description: 'Empty object' })

/** RFC 7662 / RFC 7009: the token, and a hint at its type that the answer does not depend on. */
export const TokenQueryBody = Type.Object({
  token: Type.String({ minLength: 1, 'x-no-trim': true }),
  token_type_hint: Type.Optional(Type.String({ description: 'access_token or refresh_token; optional' })),
})
export const IntrospectionResponse = Type.Object(
  {
    active: Type.Boolean(),
    token_type: Type.Optional(Type.Union([Type.Literal('access'), Type.Literal('refresh')])),
    sub: Type.Optional(Type.String({ description: 'The user id, as text' })),
    username: Type.Optional(Type.String()),
    exp: Type.Optional(Type.Integer()),
    iat: Type.Optional(Type.Integer()),
    jti: Type.Optional(Type.String()),
    user_id: Type.Optional(Type.Integer()),
    sid: Type.Optional(Type.Integer({ description: 'The session the token belongs to' })),
    client_id: Type.Optional(Type.Integer({ description: "The user's client (tenant)" })),
  },
  {
    description: 'Only `active: false` for a token that is forged, expired, revoked, unknown or out of scope',
  },
)

export const LogoutBody = Type.Object({
  refresh: Type.Optional(Type.String({ 'x-no-trim': true })),
  refresh_token: Type.Optional(Type.String({ 'x-no-trim': true, description: 'Alias of refresh' })),
})
export const LogoutResponse = Type.Object({ message: Type.String(), detail: Type.String() })
export const LogoutAllResponse = Type.Object({ message: Type.String(), revoked_sessions: Type.Integer() })
