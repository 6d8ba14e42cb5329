import { type TSchema, Type } from '@sinclair/typebox'
import { ClientTypeField, DateTime, Nullable } from './wire-fields.js'

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
