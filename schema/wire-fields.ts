import { type TSchema, Type } from '@sinclair/typebox'
import { CLIENT_TYPES, type ClientType } from './db.js'

// Field shapes shared by the wire schemas (wire.ts, wire-errors.ts, wire-accounts.ts).

/**
 * A field that may be null (DRF allow_null). Preferred to a union with Null: fast-json-stringify
 * serialises `nullable` directly, while a union costs a schema match per value and per response.
 */
export const Nullable = <T extends TSchema>(schema: T) =>
  Type.Unsafe<T['static'] | null>({ ...schema, nullable: true })
// No example here: each operation's example (schema/examples.ts) gives its own, consistent times.
export const DateTime = Type.String({ format: 'date-time' })
export const Jwt = Type.String({ minLength: 1, description: 'A JSON Web Token' })

export const CLIENT_TYPE_MEANINGS: Record<ClientType, string> = {
  website: 'a browser',
  mobile: 'a phone or tablet app',
  telegram_bot: 'a Telegram bot acting for a user (with telegram_user_id, telegram_username)',
  unknown: 'anything else; the default',
}
/** A session's kind of client: one string of a fixed list (an enum, so documents show the list). */
export const ClientTypeField = (options: { default?: ClientType } = {}) =>
  Type.Unsafe<ClientType>({
    type: 'string',
    enum: [...CLIENT_TYPES],
    description: `The kind of client, shown in session lists and used by SESSION_POLICY:\n\n${CLIENT_TYPES.map(
      (c) => `- \`${c}\`: ${CLIENT_TYPE_MEANINGS[c]}`,
    ).join('\n')}`,
    ...options,
  })
