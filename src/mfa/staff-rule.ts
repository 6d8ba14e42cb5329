import type { UserRecord } from '../accounts/users.js'
import { ApiError } from '../http/errors.js'

/**
 * MFA_REQUIRED_FOR_STAFF: staff may still log in and enrol without two-factor; they act as staff
 * (every operator action, through CurrentUser) once it is on.
 */
export function requireStaffMfa(actor: Pick<UserRecord, 'mfaEnabled'>, required = false): void {
  if (required && !actor.mfaEnabled) {
    throw new ApiError(403, 'Turn two-factor authentication on to act as staff.', 'mfa_required_for_staff')
  }
}
