// Audit: the security events, newest first, for all staff (the server keeps tenant staff to their
// tenant), filtered and paged by cursor.
import { API, api, query } from './api.js'
import { $, badge, el, timeCell } from './dom.js'
import { fillEventTypes } from './event-types.js'
import { guard, state } from './session.js'
import { emptyRow } from './tables.js'

const AUDIT = `${API}/admin/audit`
/** The filters as sent, the cursor of each page seen ('' = newest; the last is shown), the next one. */
const audit = { filters: null, cursors: [''], next: null, seq: 0, owner: null }

/** A datetime-local value, read as UTC like the table, as ISO 8601; `end` includes its whole minute. */
function utcIso(value, end) {
  if (!value) return ''
  const date = new Date(`${value}${value.length > 16 ? '' : end ? ':59.999' : ':00'}Z`)
  return Number.isNaN(date.getTime()) ? '' : date.toISOString()
}

function readAuditFilters() {
  return {
    user_id: $('audit-user').value.trim(),
    type: $('audit-type').value,
    ip: $('audit-ip').value.trim(),
    since: utcIso($('audit-since').value, false),
    until: utcIso($('audit-until').value, true),
    page_size: Number($('audit-size').value),
  }
}

/** Alerts stand out in red, refusals and failures in amber. */
function eventKind(type) {
  if (type.startsWith('suspicious.') || type === 'token.reuse_detected') return 'alert'
  if (type.endsWith('.failed') || type === 'rate_limit.hit') return 'warn'
  return 'event'
}

/** `{reason: 'wrong_password', fields: ['email']}` -> `reason=wrong_password fields=["email"]`. */
function detailsText(details) {
  return Object.entries(details ?? {})
    .map(([key, value]) => {
      const plain = typeof value === 'string' && !/[\s="]/.test(value)
      return `${key}=${plain ? value : JSON.stringify(value)}`
    })
    .join(' ')
}

export async function loadAudit() {
  audit.filters ??= readAuditFilters()
  // Another operator signed in on this tab: start again from the newest page.
  if (audit.owner !== state.me?.id) Object.assign(audit, { owner: state.me?.id, cursors: [''] })
  const seq = ++audit.seq
  const body = $('audit-body')
  body.setAttribute('aria-busy', 'true')
  for (const id of ['audit-newest', 'audit-newer', 'audit-older']) $(id).disabled = true
  await guard($('audit-error'), async () => {
    const page = audit.cursors.length
    const [data] = await Promise.all([
      api('GET', `${AUDIT}/?${query({ ...audit.filters, cursor: audit.cursors[page - 1] })}`),
      fillEventTypes($('audit-type')),
    ])
    if (seq !== audit.seq) return // a newer load is under way
    body.replaceChildren(...data.results.map(auditRow))
    if (!data.results.length)
      body.append(emptyRow(9, page > 1 ? 'No older events.' : 'No events match these filters.'))
    audit.next = data.next_cursor
    const first = (page - 1) * audit.filters.page_size + 1
    $('audit-count').textContent = data.results.length
      ? `Events ${first}–${first + data.results.length - 1}, newest first`
      : ''
    $('audit-page').textContent = `Page ${page}`
    $('audit-newest').disabled = page === 1
    $('audit-newer').disabled = page === 1
    $('audit-older').disabled = !data.next_cursor
  })
  if (seq === audit.seq) body.removeAttribute('aria-busy')
}

function auditRow(e) {
  const id = (value) =>
    value === null || value === undefined
      ? el('td', { className: 'muted' }, '—')
      : el('td', { className: 'mono' }, value)
  // The username the row recorded (as it was then) beside the id, which is what filters take.
  const who = (value, username) =>
    value === null || value === undefined
      ? el('td', { className: 'muted' }, '—')
      : el(
          'td',
          { className: 'nowrap' },
          username ? el('span', { className: 'user' }, username) : null,
          username ? ' ' : null,
          el('span', { className: 'mono muted user-id' }, value),
        )
  // Client-supplied values (user agent, details) go in as text: markup in them stays text.
  return el(
    'tr',
    { 'data-audit-id': e.id, 'data-type': e.type },
    timeCell(e.at, true),
    el('td', {}, badge(e.type, eventKind(e.type))),
    who(e.user_id, e.username),
    who(e.actor_id, e.actor_username),
    id(e.session_id),
    el('td', { className: 'mono nowrap' }, e.ip ?? '—'),
    el('td', { className: 'user-agent', title: e.user_agent }, e.user_agent ?? '—'),
    el('td', { className: 'mono request-id', title: e.request_id }, e.request_id ?? '—'),
    el('td', { className: 'mono details' }, detailsText(e.details) || '—'),
  )
}

export function wireAudit() {
  $('audit-filters').addEventListener('submit', (event) => {
    event.preventDefault()
    audit.filters = readAuditFilters()
    audit.cursors = ['']
    loadAudit()
  })
  for (const id of ['audit-type', 'audit-size']) {
    $(id).addEventListener('change', () => $('audit-filters').requestSubmit())
  }
  $('audit-older').addEventListener('click', () => {
    if (!audit.next) return
    audit.cursors.push(audit.next)
    loadAudit()
  })
  $('audit-newer').addEventListener('click', () => {
    if (audit.cursors.length > 1) audit.cursors.pop()
    loadAudit()
  })
  $('audit-newest').addEventListener('click', () => {
    audit.cursors = ['']
    loadAudit()
  })
}
