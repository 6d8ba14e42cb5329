/**
 * One realistic request and answer per operation of the OpenAPI document, keyed by method and
 * canonical path (an alias shows its canonical operation's). They tell one story: alice (user 42 of
 * the tenant Acme, id 3) logs in from her phone on 15 June 2026 at 08:30 UTC, refreshes an hour
 * later, and staff look at her. The tokens are real HS256 JWTs (signed with a throwaway key) whose
 * claims match the rest. test/docs/openapi-examples.test.ts checks each against its schema.
 */

const ACCESS =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjoxNzgxNTEzMTAwLCJpYXQiOjE3ODE1MTIyMDAsImp0aSI6IjAxOTNhNmYxYzJlODdkNGI5ZjNhNWUyMWM3ZDA4YjZlIiwidXNlcl9pZCI6NDIsInNpZCI6MTgzNywiY2xpZW50X2lkIjozfQ.rsTYZnLBulCZkqEvt1APlmYrEFcpiQr0HFPEYV29EFk'
const REFRESH =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCIsImV4cCI6MTc4MjExNzAwMCwiaWF0IjoxNzgxNTEyMjAwLCJqdGkiOiIwMTkzYTZmMWMyZTg3ZDRiOWYzYTVlMjFjN2QwOGI2ZiIsInVzZXJfaWQiOjQyLCJzaWQiOjE4MzcsImNsaWVudF9pZCI6M30.nFT-T_yiuhkLzWS16-FNShqFFuW4Iwu0-xzBIQJ0K6o'
const ACCESS_LATER =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjoxNzgxNTE2NzAwLCJpYXQiOjE3ODE1MTU4MDAsImp0aSI6IjAxOTNhNzJhNmY0YjdjMWU4ZDJmOTBhYjM0YzVlNjE3IiwidXNlcl9pZCI6NDIsInNpZCI6MTgzNywiY2xpZW50X2lkIjozfQ.xThOPI6Oj3CZXQ0tsocK6x4IP4CD_8R1h85Gp0GYk4U'
const REFRESH_LATER =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCIsImV4cCI6MTc4MjEyMDYwMCwiaWF0IjoxNzgxNTE1ODAwLCJqdGkiOiIwMTkzYTcyYTZmNGI3YzFlOGQyZjkwYWIzNGM1ZTYxOCIsInVzZXJfaWQiOjQyLCJzaWQiOjE4MzcsImNsaWVudF9pZCI6M30.DPGYK_jb42LAE9ECU0MpX_CQOypy820HWIPJGtB_B7M'

const alice = {
  id: 42,
  user_id: 42,
  username: 'alice',
  email: 'alice@acme.example',
  first_name: 'Alice',
  last_name: 'Anders',
  is_active: true,
  is_staff: false,
  is_superuser: false,
  is_manager: false,
  date_joined: '2025-11-03T14:12:09Z',
  last_login: '2026-06-15T08:30:00Z',
  client_id: 3,
  client_name: 'Acme',
  email_verified: true,
  mfa_enabled: false,
  profile: {
    expired: false,
    expiry_date: null,
    created_at: '2025-11-03T14:12:09Z',
    updated_at: '2026-02-20T09:41:37Z',
  },
}

const bob = {
  ...alice,
  id: 57,
  user_id: 57,
  username: 'bob.brown',
  email: 'bob@acme.example',
  first_name: 'Bob',
  last_name: 'Brown',
  date_joined: '2026-06-15T10:02:44Z',
  last_login: null,
  email_verified: false,
  profile: {
    expired: false,
    expiry_date: '2026-12-31T23:59:59Z',
    created_at: '2026-06-15T10:02:44Z',
    updated_at: '2026-06-15T10:02:44Z',
  },
}

const phoneSession = {
  id: 1837,
  user_id: 42,
  client_type: 'mobile',
  device_name: 'Pixel 8',
  telegram_user_id: null,
  telegram_username: null,
  created_at: '2026-06-15T08:30:00Z',
  last_activity: '2026-06-15T09:30:00Z',
  expires_at: '2026-06-22T09:30:00Z',
  ip_address: '198.51.100.23',
  user_agent: 'AcmeApp/4.2 (Linux; Android 15; Pixel 8)',
  is_active: true,
  is_current: true,
  revoked_at: null,
  revoked_reason: null,
}

const laptopSession = {
  ...phoneSession,
  id: 1790,
  client_type: 'website',
  device_name: 'Firefox on Windows',
  created_at: '2026-06-12T17:05:48Z',
  last_activity: '2026-06-14T21:16:02Z',
  expires_at: '2026-06-21T21:16:02Z',
  ip_address: '203.0.113.9',
  user_agent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0',
  is_active: false,
  is_current: false,
  revoked_at: '2026-06-15T08:31:12Z',
  revoked_reason: 'user_revoked',
}

const endpoint = {
  id: 4,
  url: 'https://siem.acme.example/hooks/auth',
  description: 'SIEM feed',
  event_types: ['login.failed', 'session.revoked', 'suspicious.new_device'],
  is_active: true,
  created_by: 1,
  created_at: '2026-05-02T11:20:00Z',
  updated_at: '2026-05-02T11:20:00Z',
}

const delivery = {
  id: 918,
  endpoint_id: 4,
  event_id: 20417,
  event_type: 'session.revoked',
  message_id: 'msg_2yVnQ8kX1cHf7RzL0pTq4w',
  status: 'delivered',
  attempts: 2,
  last_status: 200,
  next_attempt_at: null,
  created_at: '2026-06-15T08:31:12Z',
  delivered_at: '2026-06-15T08:31:23Z',
}

const loginAnswer = {
  refresh: REFRESH,
  access: ACCESS,
  user: { id: 42, username: 'alice', email: 'alice@acme.example', first_name: 'Alice', last_name: 'Anders' },
  session_id: 1837,
  user_id: 42,
  username: 'alice',
  email: 'alice@acme.example',
  client_id: 3,
  client_name: 'Acme',
}

const recoveryCodes = [
  'k7m2p-x9qrt',
  'h4nvw-3ck8s',
  'z2bq6-tmy7e',
  'p9dfa-w4hxr',
  'c3uej-n8kz5',
  'v6tgs-q2mwb',
  'y8rkc-f5pna',
  'm3xhz-7dvqe',
  'b5wnt-k2jgu',
  'e9qsy-c4rmf',
]

export interface OperationExample {
  request?: unknown
  /** The success answer. */
  response?: unknown
  /** Answers of other statuses whose body is not the common error shape. */
  errors?: Record<number, unknown>
}

export const operationExamples: Record<string, OperationExample> = {
  'GET /health/live': { response: { status: 'ok' } },
  'GET /health/ready': {
    response: { status: 'ready', database: 'ok', revocation_store: 'ok' },
    errors: { 503: { status: 'unavailable', database: 'ok', revocation_store: 'unavailable' } },
  },
  'POST /api/v1/auth/token/': {
    request: {
      username: 'alice',
      password: 'correct horse battery staple',
      client_type: 'mobile',
      device_name: 'Pixel 8',
    },
    response: loginAnswer,
  },
  'POST /api/v1/auth/token/refresh/': {
    request: { refresh: REFRESH },
    response: { access: ACCESS_LATER, refresh: REFRESH_LATER },
  },
  'POST /api/v1/auth/token/verify/': { request: { token: ACCESS_LATER }, response: {} },
  'POST /api/v1/auth/token/blacklist/': { request: { refresh: REFRESH_LATER }, response: {} },
  'POST /api/v1/auth/logout/': {
    request: { refresh: REFRESH_LATER },
    response: { message: 'Logout successful', detail: 'Session revoked and tokens blacklisted' },
  },
  'POST /api/v1/auth/logout/all/': {
    response: { message: 'Logged out from 3 device(s)', revoked_sessions: 3 },
  },
  'GET /api/v1/auth/users/me/': { response: alice },
  'GET /api/test-auth/': {
    response: { message: 'JWT authentication is working', authenticated: true, user: 'alice' },
  },
  'POST /api/test-auth/': {
    response: { message: 'JWT authentication is working', authenticated: true, user: 'alice' },
  },
  'GET /api/v1/auth/users/': {
    response: {
      count: 214,
      next: 'https://auth.acme.example/api/v1/auth/users/?page=3&page_size=2&search=a',
      previous: 'https://auth.acme.example/api/v1/auth/users/?page=1&page_size=2&search=a',
      results: [alice, bob],
    },
  },
  'POST /api/v1/auth/users/': {
    request: {
      username: 'bob.brown',
      email: 'bob@acme.example',
      password: 'a long passphrase of his own',
      first_name: 'Bob',
      last_name: 'Brown',
      expiry_date: '2026-12-31T23:59:59Z',
    },
    response: bob,
  },
  'POST /api/v1/auth/users/me/password/': {
    request: { old_password: 'correct horse battery staple', new_password: 'purple monkey dishwasher 42' },
    response: { message: 'Password changed successfully', revoked_sessions: 2 },
  },
  'GET /api/v1/auth/users/{id}/': { response: alice },
  'PATCH /api/v1/auth/users/{id}/': {
    request: { is_active: false },
    response: {
      ...alice,
      is_active: false,
      profile: { ...alice.profile, updated_at: '2026-06-15T11:47:05Z' },
    },
  },
  'GET /api/v1/auth/sessions/': { response: [phoneSession, laptopSession] },
  'POST /api/v1/auth/sessions/revoke_all/': {
    request: { keep_current: true },
    response: { message: '2 session(s) revoked successfully', revoked_count: 2 },
  },
  'GET /api/v1/auth/sessions/{id}/': { response: phoneSession },
  'POST /api/v1/auth/sessions/{id}/revoke/': {
    response: { message: 'Session revoked successfully', session_id: 1790 },
  },
  'GET /api/v1/auth/admin/sessions/': {
    response: {
      count: 2,
      next: null,
      previous: null,
      results: [
        { ...phoneSession, is_current: false, username: 'alice' },
        { ...laptopSession, username: 'alice' },
      ],
    },
  },
  'POST /api/v1/auth/admin/sessions/{id}/revoke/': {
    response: { message: 'Session revoked successfully', session_id: 1837 },
  },
  'POST /api/v1/auth/admin/invalidate-all-tokens/': {
    response: { message: 'All user sessions invalidated successfully', revoked_sessions: 1284 },
  },
  'GET /api/v1/auth/admin/webhooks/': {
    response: { count: 1, next: null, previous: null, results: [endpoint] },
  },
  'POST /api/v1/auth/admin/webhooks/': {
    request: {
      url: 'https://siem.acme.example/hooks/auth',
      event_types: ['login.failed', 'session.revoked', 'suspicious.new_device'],
      description: 'SIEM feed',
    },
    response: { ...endpoint, secret: 'whsec_MfKQ9r8GKYqRWdYnU7kPZ4CkMHgNj6mLwXw1sVbT0aQ=' },
  },
  'GET /api/v1/auth/admin/webhooks/{id}/': { response: endpoint },
  'PATCH /api/v1/auth/admin/webhooks/{id}/': {
    request: { is_active: false },
    response: { ...endpoint, is_active: false, updated_at: '2026-06-15T12:03:51Z' },
  },
  'POST /api/v1/auth/admin/webhooks/{id}/rotate-secret/': {
    response: {
      ...endpoint,
      updated_at: '2026-06-16T07:45:10Z',
      secret: 'whsec_3pX0bJd8c1VqL6tNwY2hR9uE5kZmA7sGfC4oQyTiH1M=',
    },
  },
  'GET /api/v1/auth/admin/webhooks/{id}/deliveries/': {
    response: {
      count: 2,
      next: null,
      previous: null,
      results: [
        delivery,
        {
          ...delivery,
          id: 917,
          event_id: 20410,
          event_type: 'login.failed',
          message_id: 'msg_2yVnPz3bWq8Ls0KdGh5TfE',
          status: 'failed',
          attempts: 12,
          last_status: 503,
          created_at: '2026-06-14T06:02:31Z',
          delivered_at: null,
        },
      ],
    },
  },
  'GET /api/v1/auth/admin/webhooks/deliveries/{id}/attempts/': {
    response: {
      delivery,
      results: [
        {
          id: 2203,
          attempted_at: '2026-06-15T08:31:12Z',
          status_code: 502,
          latency_ms: 1873,
          error: 'http_status',
          response_excerpt: '<html><body>502 Bad Gateway</body></html>',
        },
        {
          id: 2209,
          attempted_at: '2026-06-15T08:31:23Z',
          status_code: 200,
          latency_ms: 41,
          error: null,
          response_excerpt: 'ok',
        },
      ],
    },
  },
  'POST /api/v1/auth/admin/webhooks/deliveries/{id}/replay/': {
    response: {
      ...delivery,
      id: 1022,
      status: 'pending',
      attempts: 0,
      last_status: null,
      next_attempt_at: '2026-06-15T13:10:00Z',
      created_at: '2026-06-15T13:10:00Z',
      delivered_at: null,
    },
  },
  'GET /api/v1/auth/admin/audit/': {
    response: {
      results: [
        {
          id: 20417,
          at: '2026-06-15T08:31:12.407Z',
          type: 'session.revoked',
          user_id: 42,
          username: 'alice',
          session_id: 1790,
          actor_id: 42,
          actor_username: 'alice',
          client_id: 3,
          ip: '198.51.100.23',
          user_agent: 'AcmeApp/4.2 (Linux; Android 15; Pixel 8)',
          request_id: '5b0c8e51-2f6d-4a7e-9c31-0d8f4a6b2e19',
          details: { reason: 'user_revoked' },
        },
        {
          id: 20398,
          at: '2026-06-15T08:30:00.118Z',
          type: 'login.succeeded',
          user_id: 42,
          username: 'alice',
          session_id: 1837,
          actor_id: null,
          actor_username: null,
          client_id: 3,
          ip: '198.51.100.23',
          user_agent: 'AcmeApp/4.2 (Linux; Android 15; Pixel 8)',
          request_id: 'c2a71f04-8b3e-4d59-a6f0-7e1d9b3c5a82',
          details: { method: 'password', client_type: 'mobile' },
        },
      ],
      next: 'https://auth.acme.example/api/v1/auth/admin/audit/?user_id=42&page_size=2&cursor=MjAzOTg',
      next_cursor: 'MjAzOTg',
    },
  },
  'GET /api/v1/auth/admin/audit/event-types/': {
    response: {
      event_types: ['login.succeeded', 'login.failed', 'session.revoked', 'suspicious.new_device'],
    },
  },
  'POST /api/v1/auth/introspect/': {
    request: { token: ACCESS_LATER, token_type_hint: 'access_token' },
    response: {
      active: true,
      token_type: 'access',
      sub: '42',
      username: 'alice',
      exp: 1781516700,
      iat: 1781515800,
      jti: '0193a72a6f4b7c1e8d2f90ab34c5e617',
      user_id: 42,
      sid: 1837,
      client_id: 3,
    },
  },
  'POST /api/v1/auth/revoke/': {
    request: { token: REFRESH_LATER, token_type_hint: 'refresh_token' },
    response: {},
  },
  'GET /.well-known/jwks.json': {
    response: {
      keys: [
        {
          kty: 'OKP',
          crv: 'Ed25519',
          x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
          kid: 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k',
          alg: 'EdDSA',
          use: 'sig',
        },
      ],
    },
  },
  'GET /.well-known/openid-configuration': {
    response: {
      issuer: 'https://auth.acme.example',
      jwks_uri: 'https://auth.acme.example/.well-known/jwks.json',
      token_endpoint: 'https://auth.acme.example/api/v1/auth/token/',
      introspection_endpoint: 'https://auth.acme.example/api/v1/auth/introspect/',
      revocation_endpoint: 'https://auth.acme.example/api/v1/auth/revoke/',
      token_endpoint_auth_methods_supported: ['none'],
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'bearer'],
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'bearer'],
      grant_types_supported: ['password', 'refresh_token'],
      token_signing_alg_values_supported: ['EdDSA'],
    },
  },
  'POST /api/v1/auth/password/reset/': {
    request: { email: 'alice@acme.example' },
    response: { detail: 'If an account uses this address, a link to reset its password is on its way.' },
  },
  'POST /api/v1/auth/password/reset/confirm/': {
    request: {
      token: 'Xq3v9LmR2tY7bK0pWz5nC8dF1gH4jS6aE-uQiOoPrT0',
      new_password: 'purple monkey dishwasher 42',
    },
    response: { detail: 'Your password has been reset. Log in with the new one.', revoked_sessions: 3 },
  },
  'POST /api/v1/auth/email/verify/': {
    request: { token: 'Jd8sK2mQ5vX9tR1wL4pZ7cB0nF3hG6yA-eUiOkTqWr2' },
    response: { detail: 'Your e-mail address is verified.', email: 'bob@acme.example' },
  },
  'POST /api/v1/auth/email/verify/resend/': {
    response: { detail: 'A verification link is on its way.' },
  },
  'POST /api/v1/auth/token/mfa/': {
    request: { mfa_token: 'r8KpX2vN6qT0mW4zL9cY1bF7hJ3dS5gA-uEoQiPtRk8', code: '492817' },
    response: loginAnswer,
  },
  'GET /api/v1/auth/mfa/': { response: { enabled: true, recovery_codes_left: 8 } },
  'POST /api/v1/auth/mfa/totp/setup/': {
    request: { password: 'correct horse battery staple' },
    response: {
      secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP',
      otpauth_url:
        'otpauth://totp/auth.acme.example:alice?issuer=auth.acme.example&secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&algorithm=SHA1&digits=6&period=30',
      qr_code:
        'data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAzMyAzMyI+PC9zdmc+',
    },
  },
  'POST /api/v1/auth/mfa/totp/confirm/': {
    request: { code: '731064' },
    response: { recovery_codes: recoveryCodes, revoked_sessions: 2 },
  },
  'POST /api/v1/auth/mfa/disable/': {
    request: { password: 'correct horse battery staple' },
    response: { detail: 'Two-factor authentication is off.' },
  },
  'POST /api/v1/auth/mfa/recovery-codes/': {
    request: { code: '058213' },
    response: { recovery_codes: recoveryCodes.map((c) => c.split('').reverse().join('')) },
  },
  'DELETE /api/v1/auth/users/{id}/mfa/': {
    response: { detail: 'Two-factor authentication is off for this user.' },
  },
}
