import {
  ACCESS_LATER,
  alice,
  bob,
  laptopSession,
  loginAnswer,
  type OperationExample,
  phoneSession,
  recoveryCodes,
  REFRESH,
  REFRESH_LATER,
} from './example-data.js'
import { adminExamples } from './examples-admin.js'

export type { OperationExample } from './example-data.js'

/**
 * One realistic request and answer per operation of the OpenAPI document, keyed by method and
 * canonical path (an alias shows its canonical operation's). They tell one story: alice (user 42 of
 * the tenant Acme, id 3) logs in from her phone on 15 June 2026 at 08:30 UTC, refreshes an hour
 * later, and staff look at her. The tokens are real HS256 JWTs (signed with a throwaway key) whose
 * claims match the rest. test/docs/openapi-examples.test.ts checks each against its schema.
 */

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
  ...adminExamples,
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
