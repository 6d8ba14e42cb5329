import { delivery, endpoint, laptopSession, phoneSession, type OperationExample } from './example-data.js'

/** The staff console's operations: sessions of every user, webhooks, the audit trail. */
export const adminExamples: Record<string, OperationExample> = {
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
}
