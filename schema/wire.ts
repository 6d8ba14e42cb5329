import { type Static, type TSchema, Type } from '@sinclair/typebox'
import { CLIENT_TYPES, type ClientType } from './db.js'

/**
 * A field that may be null (DRF allow_null). Preferred to a union with Null: fast-json-stringify
 * serialises `nullable` directly, while a union costs a schema match per value and per response.
 */
const Nullable = <T extends TSchema>(schema: T) =>
  Type.Unsafe<T['static'] | null>({ ...schema, nullable: true })
// No example here: each operation's example (schema/examples.ts) gives its own, consistent times.
const DateTime = Type.String({ format: 'date-time' })
const Jwt = Type.String({ minLength: 1, description: 'A JSON Web Token' })

// ---- errors ---------------------------------------------------------------------------------

/**
 * Every `code` an error answer of each status may carry, as the source raises them (an answer
 * without a code, such as SimpleJWT's failed login, has only `detail`). test/docs/openapi-examples.test.ts
 * reads the source and fails when a code is raised that is not listed here.
 */
export const ERROR_CODES = {
  400: ['bad_request', 'parse_error', 'token_not_valid', 'mfa_already_enabled', 'mfa_not_enabled'],
  401: [
    'token_not_valid',
    'token_revoked',
    'bad_authorization_header',
    'user_not_found',
    'user_inactive',
    'account_expired',
    'email_not_verified',
    'already_logged_in',
    'mfa_required',
    'mfa_token_invalid',
    'mfa_invalid',
    'mfa_code_used',
    'invalid_client',
    'authentication_failed',
  ],
  403: ['permission_denied', 'mfa_required_for_staff', 'mfa_own_reset', 'csrf_failed'],
  404: ['not_found'],
  405: ['method_not_allowed'],
  413: ['payload_too_large'],
  429: ['throttled', 'mfa_locked'],
  503: ['service_unavailable', 'mfa_unavailable', 'webhooks_unavailable'],
} as const

/** What each code means, for the reader of the document. */
const CODE_MEANINGS: Record<string, string> = {
  bad_request: 'the request could not be read',
  parse_error: 'the body is not valid JSON',
  token_not_valid: 'the token is malformed, expired, of the wrong type or its signature does not match',
  token_revoked: 'the token was valid but its session, user or all tokens were revoked',
  bad_authorization_header: 'the Authorization header is not `Bearer <token>`',
  user_not_found: "the token's user no longer exists",
  user_inactive: 'the user is deactivated',
  account_expired: "the user's expiry_date has passed",
  email_not_verified: 'REQUIRE_VERIFIED_EMAIL is on and the address is not verified yet',
  already_logged_in: 'SESSION_POLICY=reject and a session of this client_type is open',
  mfa_required: 'the password was right; send `mfa_token` and a code to POST /api/v1/auth/token/mfa/',
  mfa_token_invalid: 'the mfa_token expired, was completed, or ran out of attempts: log in again',
  mfa_invalid: 'the two-factor code is wrong',
  mfa_code_used: "the two-factor code was already used: wait for the app's next one",
  mfa_already_enabled: 'two-factor authentication is already on',
  mfa_not_enabled: 'two-factor authentication is not on',
  invalid_client: 'the HTTP Basic credentials of an introspection client are wrong',
  authentication_failed: 'the metrics token is wrong',
  permission_denied: 'the caller is not allowed (staff or superuser only, or another tenant)',
  mfa_required_for_staff: 'MFA_REQUIRED_FOR_STAFF is on: turn two-factor on to act as staff',
  mfa_own_reset: 'staff turn their own two-factor off with POST /api/v1/auth/mfa/disable/ and a proof',
  csrf_failed:
    'cookie mode: the Origin is not a trusted one (CORS_ORIGINS, PUBLIC_URL), or X-CSRF-Token does not match the CSRF cookie; nothing was changed',
  not_found: 'no such object (or one outside your tenant)',
  method_not_allowed: 'the path exists, not with this method',
  payload_too_large: 'the body is larger than BODY_LIMIT',
  throttled: 'too many attempts: wait for the seconds of Retry-After',
  mfa_locked:
    'MFA_DAILY_FAILURE_LIMIT wrong two-factor codes today: locked for the seconds of Retry-After (staff can reset two-factor)',
  service_unavailable: 'the database or the revocation store cannot answer: retry shortly',
  mfa_unavailable:
    'two-factor needs KEY_ENCRYPTION_KEY on this server (or it is not the one that sealed the secrets)',
  webhooks_unavailable: 'webhooks need KEY_ENCRYPTION_KEY on this server',
}

/** A realistic answer of each status, for the document. */
const ERROR_EXAMPLES: Record<number, Record<string, unknown>> = {
  400: { detail: 'JSON parse error - Unexpected end of JSON input', code: 'parse_error' },
  401: { detail: 'Token has been revoked. Please login again.', code: 'token_revoked' },
  403: { detail: 'You do not have permission to perform this action.', code: 'permission_denied' },
  404: { detail: 'Not found.', code: 'not_found' },
  429: { detail: 'Request was throttled. Expected available in 42 seconds.', code: 'throttled' },
  503: {
    detail: 'The service is temporarily unavailable. Please try again shortly.',
    code: 'service_unavailable',
  },
}

export const ErrorBody = Type.Object(
  {
    detail: Type.String(),
    code: Type.Optional(Type.String()),
    messages: Type.Optional(
      Type.Array(
        Type.Object({ token_class: Type.String(), token_type: Type.String(), message: Type.String() }),
      ),
    ),
    mfa_token: Type.Optional(
      Type.String({
        description: 'With code mfa_required: send it with a code to POST /api/v1/auth/token/mfa/',
      }),
    ),
  },
  { description: 'Error: a sentence and a stable code' },
)

export const FieldErrorBody = Type.Record(Type.String(), Type.Array(Type.String()), {
  description: 'DRF field errors: {"field": ["sentence"]}',
})

/**
 * The error body of one status, its `code` an enum of that status's codes, each explained.
 * Typed as the schema it copies, so declaration files can name it (a spread TypeBox object cannot be).
 */
const err = (status: keyof typeof ERROR_CODES, description: string): typeof ErrorBody => {
  const codes = ERROR_CODES[status]
  const meanings = codes.map((c) => `- \`${c}\`: ${CODE_MEANINGS[c] ?? ''}`).join('\n')
  return {
    ...ErrorBody,
    description: `${description}. \`code\` is one of:\n\n${meanings}`,
    properties: {
      ...ErrorBody.properties,
      code: { ...ErrorBody.properties.code, enum: [...codes] },
    },
    ...(ERROR_EXAMPLES[status] ? { example: ERROR_EXAMPLES[status] } : {}),
  } as typeof ErrorBody
}
const fieldErr: typeof FieldErrorBody = {
  ...FieldErrorBody,
  description: 'Invalid input (DRF field errors): each field named, with what is wrong with it',
  example: { password: ['This field may not be blank.'] },
}

export const errorResponses = {
  400: fieldErr,
  401: err(401, 'Not authenticated, or the token is invalid or revoked'),
  429: err(429, 'Too many requests'),
  503: err(503, 'A backing store is unavailable'),
}
/** What any route may answer, even one that reads no input: Node refuses a malformed request. */
export const unreadableRequest = { 400: err(400, 'The request could not be read') }
/** What a route of cookie mode adds: its CSRF refusal. */
export const cookieModeResponses = { 403: err(403, 'Cookie mode: the request failed the CSRF check') }
export const protectedResponses = {
  ...errorResponses,
  403: err(403, 'Not allowed'),
  404: err(404, 'Not found'),
}

// ---- tokens ---------------------------------------------------------------------------------

const CLIENT_TYPE_MEANINGS: Record<ClientType, string> = {
  website: 'a browser',
  mobile: 'a phone or tablet app',
  telegram_bot: 'a Telegram bot acting for a user (with telegram_user_id, telegram_username)',
  unknown: 'anything else; the default',
}
/** A session's kind of client: one string of a fixed list (an enum, so documents show the list). */
const ClientTypeField = (options: { default?: ClientType } = {}) =>
  Type.Unsafe<ClientType>({
    type: 'string',
    enum: [...CLIENT_TYPES],
    description: `The kind of client, shown in session lists and used by SESSION_POLICY:\n\n${CLIENT_TYPES.map(
      (c) => `- \`${c}\`: ${CLIENT_TYPE_MEANINGS[c]}`,
    ).join('\n')}`,
    ...options,
  })

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

// ---- users ----------------------------------------------------------------------------------

export const Profile = Type.Object({
  expired: Type.Boolean(),
  expiry_date: Nullable(DateTime),
  created_at: Nullable(DateTime),
  updated_at: Nullable(DateTime),
})

export const User = Type.Object({
  id: Type.Integer(),
  user_id: Type.Integer({ description: 'Same as id, for clients that read user_id' }),
  username: Type.String(),
  email: Type.String(),
  first_name: Type.String(),
  last_name: Type.String(),
  is_active: Type.Boolean(),
  is_staff: Type.Boolean(),
  is_superuser: Type.Boolean(),
  is_manager: Type.Boolean(),
  date_joined: DateTime,
  last_login: Nullable(DateTime),
  client_id: Nullable(Type.Integer()),
  client_name: Nullable(Type.String()),
  email_verified: Type.Boolean({
    description: 'Proven by a link sent to it (or vouched for by an operator)',
  }),
  mfa_enabled: Type.Boolean({ description: 'Two-factor authentication (TOTP) is on' }),
  profile: Profile,
})

export const TestAuthResponse = Type.Object({
  message: Type.String(),
  authenticated: Type.Boolean(),
  user: Type.String(),
})

// ---- sessions -------------------------------------------------------------------------------

export const Session = Type.Object({
  id: Type.Integer(),
  user_id: Type.Integer(),
  // Typed as the string a row holds; documented as the list it is.
  client_type: Type.Unsafe<string>({ ...ClientTypeField() }),
  device_name: Nullable(Type.String()),
  telegram_user_id: Nullable(Type.Integer()),
  telegram_username: Nullable(Type.String()),
  created_at: DateTime,
  last_activity: DateTime,
  expires_at: DateTime,
  ip_address: Nullable(Type.String()),
  user_agent: Nullable(Type.String()),
  is_active: Type.Boolean(),
  is_current: Type.Boolean(),
  revoked_at: Nullable(DateTime),
  revoked_reason: Nullable(Type.String()),
})

export const AdminSession = Type.Composite([Session, Type.Object({ username: Type.String() })])

export const Paginated = <T extends TSchema>(item: T) =>
  Type.Object({
    count: Type.Integer(),
    next: Nullable(Type.String()),
    previous: Nullable(Type.String()),
    results: Type.Array(item),
  })

export const PageQuery = {
  page: Type.Optional(Type.Integer({ minimum: 1, default: 1 })),
  page_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
}

export const IdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: 2147483647 }) })

// ---- health ---------------------------------------------------------------------------------

export const Health = Type.Object({
  status: Type.String(),
  database: Type.Optional(Type.String()),
  revocation_store: Type.Optional(Type.String()),
})

// ---- user administration and lists ----------------------------------------------------------

const Id = Type.Integer({ minimum: 1, maximum: 2147483647 })
// Blank is allowed (no e-mail), as Django's User.email. The format branch comes first so that a
// wrong address hears DRF's "Enter a valid email address.".
const Email = Type.Union([Type.String({ format: 'email', maxLength: 254 }), Type.Literal('')])

/** DRF's page query: a page_size above 100 is capped at 100, as DRF's max_page_size does. */
export const ListQuery = {
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 2147483647, default: 1 })),
  page_size: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 2147483647, default: 20, description: 'Capped at 100' }),
  ),
  search: Type.Optional(Type.String({ maxLength: 200 })),
}

export const UserListQuery = Type.Object(ListQuery)

export const CreateUserBody = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 150 }),
  email: Type.Optional(Email),
  password: Type.String({ minLength: 8, maxLength: 4096, 'x-no-trim': true }),
  first_name: Type.Optional(Type.String({ maxLength: 150 })),
  last_name: Type.Optional(Type.String({ maxLength: 150 })),
  is_staff: Type.Optional(Type.Boolean({ default: false })),
  is_active: Type.Optional(Type.Boolean({ default: true })),
  is_manager: Type.Optional(Type.Boolean({ default: false })),
  expiry_date: Type.Optional(Nullable(DateTime)),
  client_id: Type.Optional(
    Nullable({ ...Id, description: "The user's tenant; only a superuser may choose it" }),
  ),
})

export const PatchUserBody = Type.Object({
  email: Type.Optional(Email),
  first_name: Type.Optional(Type.String({ maxLength: 150 })),
  last_name: Type.Optional(Type.String({ maxLength: 150 })),
  is_active: Type.Optional(Type.Boolean({ description: 'false revokes every token of the user at once' })),
  is_staff: Type.Optional(Type.Boolean()),
  is_manager: Type.Optional(Type.Boolean()),
  expiry_date: Type.Optional(
    Nullable({ ...DateTime, description: 'A past date stops the live tokens of the user at once' }),
  ),
})

export const PasswordChangeBody = Type.Object({
  old_password: Type.String({ minLength: 1, maxLength: 4096, 'x-no-trim': true }),
  new_password: Type.String({ minLength: 8, maxLength: 4096, 'x-no-trim': true }),
})
export const PasswordChangeResponse = Type.Object({
  message: Type.String(),
  revoked_sessions: Type.Integer({ description: 'Other sessions of the caller that were revoked' }),
})

export const SessionListQuery = Type.Object({
  include_inactive: Type.Optional(Type.Boolean({ default: false })),
})
export const RevokeSessionResponse = Type.Object({ message: Type.String(), session_id: Type.Integer() })
export const RevokeAllBody = Type.Object({ keep_current: Type.Optional(Type.Boolean({ default: false })) })
export const RevokeAllResponse = Type.Object({ message: Type.String(), revoked_count: Type.Integer() })

export const AdminSessionQuery = Type.Object({
  ...ListQuery,
  client_type: Type.Optional(ClientTypeField()),
  is_active: Type.Optional(Type.Boolean()),
  user_id: Type.Optional(Id),
})
export const InvalidateAllResponse = Type.Object({
  message: Type.String(),
  revoked_sessions: Type.Integer(),
})

// ---- mail: password reset and e-mail verification --------------------------------------------

const MailToken = Type.String({
  minLength: 1,
  maxLength: 200,
  description: 'The token from the link in the mail',
})
export const PasswordResetBody = Type.Object({
  email: Type.String({ format: 'email', maxLength: 254 }),
})
export const PasswordResetConfirmBody = Type.Object({
  token: MailToken,
  new_password: PasswordChangeBody.properties.new_password,
})
export const PasswordResetConfirmResponse = Type.Object({
  detail: Type.String(),
  revoked_sessions: Type.Integer({ description: 'Sessions of the user that were revoked' }),
})
export const EmailVerifyBody = Type.Object({ token: MailToken })
export const EmailVerifyResponse = Type.Object({ detail: Type.String(), email: Type.String() })
export const Detail = Type.Object({ detail: Type.String() })

// ---- two-factor (TOTP) ----------------------------------------------------------------------

const Code = Type.String({
  minLength: 1,
  maxLength: 20,
  description: 'A 6-digit code from the app, or a recovery code',
})
export const MfaLoginBody = Type.Object({
  mfa_token: Type.String({
    minLength: 1,
    maxLength: 200,
    description: 'From the 401 mfa_required answer of the login',
  }),
  code: Code,
})
export const MfaRequired = Type.Object(
  { detail: Type.String(), code: Type.Literal('mfa_required'), mfa_token: Type.String() },
  { description: 'The password was right; the second factor is due at POST /api/v1/auth/token/mfa/' },
)
export const MfaStatus = Type.Object({ enabled: Type.Boolean(), recovery_codes_left: Type.Integer() })
export const MfaSetupResponse = Type.Object({
  secret: Type.String({ description: 'Base32, for apps that cannot scan' }),
  otpauth_url: Type.String(),
  qr_code: Type.String({ description: 'An SVG data URL of the otpauth URL' }),
})
export const MfaSetupBody = Type.Optional(
  Type.Object({
    password: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        'x-no-trim': true,
        description: 'The current password; not needed within five minutes of a login',
      }),
    ),
  }),
)
export const MfaConfirmBody = Type.Object({
  code: Code,
  keep_other_sessions: Type.Optional(
    Type.Boolean({ default: false, description: "Keep the caller's other sessions (default: they end)" }),
  ),
})
export const RecoveryCodes = Type.Object({
  recovery_codes: Type.Array(Type.String(), { description: 'Shown once; each works once' }),
})
export const MfaConfirmResponse = Type.Object({
  ...RecoveryCodes.properties,
  revoked_sessions: Type.Integer({ description: 'Other sessions ended by turning two-factor on' }),
})
export const MfaProofBody = Type.Object({
  password: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, 'x-no-trim': true })),
  code: Type.Optional(Code),
})
