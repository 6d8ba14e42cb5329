import { isExpired } from '../accounts/expiry.js'
import type { AuthDeps } from '../auth/deps.js'
import { type LoginInput, type RequestMeta, startSession } from '../auth/login.js'
import { errors } from '../http/errors.js'

/** The second step of a login with two-factor on: the code completes the challenge, then the session starts as the login asked. */
export async function completeMfaLogin(d: AuthDeps, mfaToken: string, code: string, meta: RequestMeta) {
  if (!d.twoFactor) throw errors.notFound()
  const { user, pending } = await d.twoFactor.complete(mfaToken, code, meta)
  if (isExpired(user)) throw errors.accountExpired()
  // The session is the one the login asked for, from where the login came; the event, from here.
  const input = pending.input as Omit<LoginInput, 'password'>
  return startSession(d, user, input, { ...pending.meta, requestId: meta.requestId }, 'mfa')
}
