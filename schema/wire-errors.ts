import { Type } from '@sinclair/typebox'

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
