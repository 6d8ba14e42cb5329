import { isDatabaseUnavailable } from './database/errors.js'
import { StoreUnavailableError } from './revocation/store.js'

/** A backing server (PostgreSQL or the revocation store) cannot answer now: 503, never 500. */
export function isBackendUnavailable(err: unknown): boolean {
  return err instanceof StoreUnavailableError || isDatabaseUnavailable(err)
}
