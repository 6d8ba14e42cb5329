import { ApiError, FieldErrors } from '../http/errors.js'

export const CODE_USED = 'The code was already used.'

/** The answers two-factor gives, each with its status, stable code and a sentence to act on. */
export const errors = {
  mfaRequired: (mfaToken: string) =>
    new ApiError(401, 'Enter the code from your authenticator app.', 'mfa_required', { mfa_token: mfaToken }),
  challengeGone: () =>
    new ApiError(
      401,
      'This login attempt has expired or was already completed. Log in again.',
      'mfa_token_invalid',
    ),
  wrongCode: () => new ApiError(401, 'The code is not valid.', 'mfa_invalid'),
  // Said apart from a wrong code: the user typed the right code once too often (the one that just
  // confirmed enrolment, say) and only has to wait for the app's next one.
  codeUsed: () =>
    new ApiError(401, `${CODE_USED} Wait for the next code from your authenticator app.`, 'mfa_code_used'),
  locked: (retryAfterSeconds: number) =>
    new ApiError(
      429,
      `Too many wrong codes for this account today: two-factor login is locked for ${lockedFor(retryAfterSeconds)}. Try again later, or ask an administrator to reset your two-factor authentication.`,
      'mfa_locked',
      {},
      { 'retry-after': String(retryAfterSeconds) },
    ),
  unavailable: () =>
    new ApiError(
      503,
      'Two-factor authentication needs KEY_ENCRYPTION_KEY on this server.',
      'mfa_unavailable',
    ),
  sealedElsewhere: () =>
    new ApiError(
      503,
      'Two-factor secrets cannot be opened: KEY_ENCRYPTION_KEY is not the key that sealed them.',
      'mfa_unavailable',
    ),
  alreadyOn: () => new ApiError(400, 'Two-factor authentication is already on.', 'mfa_already_enabled'),
  notOn: () => new ApiError(400, 'Two-factor authentication is not on.', 'mfa_not_enabled'),
  ownReset: () =>
    new ApiError(
      403,
      'Turn your own two-factor authentication off with POST /api/v1/auth/mfa/disable/ (it asks for your password or a code).',
      'mfa_own_reset',
    ),
  stalePassword: () =>
    new FieldErrors({
      password: ['Enter your current password to set up two-factor authentication (or log in again first).'],
    }),
}

/** A lock's remaining time in words: "3 hours", "1 hour", "12 minutes". */
function lockedFor(seconds: number): string {
  const [n, unit] =
    seconds >= 3600 ? [Math.ceil(seconds / 3600), 'hour'] : [Math.ceil(seconds / 60), 'minute']
  return `${n} ${unit}${n === 1 ? '' : 's'}`
}
