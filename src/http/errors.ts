/**
 * An error a client can cause: status, a sentence a person can act on, and a stable code; `extra`
 * fields of the body and `headers` of the answer where the contract has them.
 */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly detail: string,
    readonly code?: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail)
    this.name = 'ApiError'
  }

  body(): Record<string, unknown> {
    return this.code === undefined
      ? { detail: this.detail, ...this.extra }
      : { detail: this.detail, code: this.code, ...this.extra }
  }
}

/** DRF-shaped field errors: `{"password": ["This field is required."]}`. */
export class FieldErrors extends Error {
  readonly statusCode = 400
  constructor(readonly fields: Record<string, string[]>) {
    super('Invalid input')
    this.name = 'FieldErrors'
  }
}

export const messages = {
  notProvided: 'Authentication credentials were not provided.',
  badHeader: 'Authorization header must contain two space-delimited values',
  invalid: 'Token is invalid or expired',
  wrongType: 'Token has wrong type',
  noType: 'Token has no type',
  noId: 'Token has no id',
  noExp: "Token has no 'exp' claim",
  noUser: 'Token contained no recognizable user identification',
  notValidAny: 'Given token not valid for any token type',
  blacklisted: 'Token is blacklisted',
  revoked: 'Token has been revoked. Please login again.',
  badCredentials: 'No active account found with the given credentials',
  permission: 'You do not have permission to perform this action.',
  notFound: 'Not found.',
} as const

export const errors = {
  notAuthenticated: () => new ApiError(401, messages.notProvided),
  badAuthorizationHeader: () => new ApiError(401, messages.badHeader, 'bad_authorization_header'),
  tokenNotValid: (detail: string) => new ApiError(401, detail, 'token_not_valid'),
  accessTokenNotValid: (message: string) =>
    new ApiError(401, messages.notValidAny, 'token_not_valid', {
      messages: [{ token_class: 'AccessToken', token_type: 'access', message }],
    }),
  tokenRevoked: () => new ApiError(401, messages.revoked, 'token_revoked'),
  userNotFound: () => new ApiError(401, 'User not found', 'user_not_found'),
  userInactive: () => new ApiError(401, 'User is inactive', 'user_inactive'),
  accountExpired: () => new ApiError(401, 'User account has expired.', 'account_expired'),
  emailNotVerified: () =>
    new ApiError(
      401,
      'Your e-mail address is not verified yet. Follow the link we sent, or ask for a new one.',
      'email_not_verified',
    ),
  // SimpleJWT answers a failed login with the sentence alone; clients compare the whole body.
  badCredentials: () => new ApiError(401, messages.badCredentials),
  throttled: (retryAfterSeconds: number) =>
    new ApiError(
      429,
      `Request was throttled. Expected available in ${retryAfterSeconds} seconds.`,
      'throttled',
      {},
      { 'retry-after': String(retryAfterSeconds) },
    ),
  permissionDenied: () => new ApiError(403, messages.permission, 'permission_denied'),
  notFound: () => new ApiError(404, messages.notFound, 'not_found'),
  unavailable: () =>
    new ApiError(
      503,
      'The service is temporarily unavailable. Please try again shortly.',
      'service_unavailable',
    ),
}
