// The story's tokens, people, sessions and webhooks, shared by the operation examples (examples.ts).

export const ACCESS =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjoxNzgxNTEzMTAwLCJpYXQiOjE3ODE1MTIyMDAsImp0aSI6IjAxOTNhNmYxYzJlODdkNGI5ZjNhNWUyMWM3ZDA4YjZlIiwidXNlcl9pZCI6NDIsInNpZCI6MTgzNywiY2xpZW50X2lkIjozfQ.rsTYZnLBulCZkqEvt1APlmYrEFcpiQr0HFPEYV29EFk'
export const REFRESH =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCIsImV4cCI6MTc4MjExNzAwMCwiaWF0IjoxNzgxNTEyMjAwLCJqdGkiOiIwMTkzYTZmMWMyZTg3ZDRiOWYzYTVlMjFjN2QwOGI2ZiIsInVzZXJfaWQiOjQyLCJzaWQiOjE4MzcsImNsaWVudF9pZCI6M30.nFT-T_yiuhkLzWS16-FNShqFFuW4Iwu0-xzBIQJ0K6o'
export const ACCESS_LATER =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjoxNzgxNTE2NzAwLCJpYXQiOjE3ODE1MTU4MDAsImp0aSI6IjAxOTNhNzJhNmY0YjdjMWU4ZDJmOTBhYjM0YzVlNjE3IiwidXNlcl9pZCI6NDIsInNpZCI6MTgzNywiY2xpZW50X2lkIjozfQ.xThOPI6Oj3CZXQ0tsocK6x4IP4CD_8R1h85Gp0GYk4U'
export const REFRESH_LATER =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCIsImV4cCI6MTc4MjEyMDYwMCwiaWF0IjoxNzgxNTE1ODAwLCJqdGkiOiIwMTkzYTcyYTZmNGI3YzFlOGQyZjkwYWIzNGM1ZTYxOCIsInVzZXJfaWQiOjQyLCJzaWQiOjE4MzcsImNsaWVudF9pZCI6M30.DPGYK_jb42LAE9ECU0MpX_CQOypy820HWIPJGtB_B7M'

export const alice = {
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

export const bob = {
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

export const phoneSession = {
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

export const laptopSession = {
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

export const endpoint = {
  id: 4,
  url: 'https://siem.acme.example/hooks/auth',
  description: 'SIEM feed',
  event_types: ['login.failed', 'session.revoked', 'suspicious.new_device'],
  is_active: true,
  created_by: 1,
  created_at: '2026-05-02T11:20:00Z',
  updated_at: '2026-05-02T11:20:00Z',
}

export const delivery = {
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

export const loginAnswer = {
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

export const recoveryCodes = [
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
