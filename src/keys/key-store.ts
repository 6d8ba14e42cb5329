import { asc, inArray } from 'drizzle-orm'
import { signingKeys } from '../../schema/db.js'
import type { Db } from '../database/database.js'
import type { JwtAlgorithm } from '../config/tokens.js'
import { seal, unseal } from './sealed.js'

/** A key `rotate-key` made, opened: its secret (HMAC) or private key (PEM) in the clear. */
export interface StoredKey {
  kid: string
  alg: JwtAlgorithm
  secret: string
  signsFromMs: number
}

/** The signing_keys table. Secrets go in sealed with KEY_ENCRYPTION_KEY and come out opened. */
export class SigningKeyRepository {
  constructor(private readonly db: Db) {}

  /**
   * Every stored key, oldest first, opened with `encryptionKey`. Throws a sentence naming the
   * setting (never a secret) when there are keys and no key to open them, or the wrong one.
   */
  async load(encryptionKey: string | undefined): Promise<StoredKey[]> {
    const rows = await this.db
      .select()
      .from(signingKeys)
      .orderBy(asc(signingKeys.signsFrom), asc(signingKeys.kid))
    if (rows.length > 0 && !encryptionKey) {
      throw new Error('KEY_ENCRYPTION_KEY: required, the database holds signing keys that rotate-key made.')
    }
    return rows.map((row) => {
      let secret: string
      try {
        secret = unseal(encryptionKey as string, row.kid, row.sealedKey)
      } catch {
        throw new Error(
          `KEY_ENCRYPTION_KEY: it does not open signing key ${row.kid}; is it the key rotate-key used?`,
        )
      }
      return {
        kid: row.kid,
        alg: row.algorithm as JwtAlgorithm,
        secret,
        signsFromMs: row.signsFrom.getTime(),
      }
    })
  }

  async add(key: StoredKey, encryptionKey: string): Promise<void> {
    await this.db.insert(signingKeys).values({
      kid: key.kid,
      algorithm: key.alg,
      sealedKey: seal(encryptionKey, key.kid, key.secret),
      signsFrom: new Date(key.signsFromMs),
    })
  }

  async remove(kids: string[]): Promise<void> {
    if (kids.length > 0) await this.db.delete(signingKeys).where(inArray(signingKeys.kid, kids))
  }
}
