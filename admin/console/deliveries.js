// A webhook endpoint's deliveries, newest first: each one's attempts, and replaying one.
import { API, api, PAGE_SIZE, query } from './api.js'
import { $, badge, el, notice, show, timeCell } from './dom.js'
import { guard } from './session.js'
import { emptyRow, pager } from './tables.js'

const HOOKS = `${API}/admin/webhooks`
const DELIVERY_BADGES = { delivered: 'ok', pending: 'warn', failed: 'off' }

/** The endpoint whose deliveries are shown, and the page of them. */
export const hooks = { endpoint: null, page: 1 }

export function closeDeliveries() {
  hooks.endpoint = null
  show($('deliveries-panel'), false)
}

export async function showDeliveries(e, page) {
  hooks.endpoint = e
  hooks.page = page
  $('deliveries-title').textContent = `Deliveries to ${e.url}`
  show($('deliveries-panel'), true)
  const body = $('deliveries-body')
  body.setAttribute('aria-busy', 'true')
  await guard($('webhooks-error'), async () => {
    const q = query({ page, page_size: PAGE_SIZE })
    const data = await api('GET', `${HOOKS}/${encodeURIComponent(e.id)}/deliveries/?${q}`)
    body.replaceChildren(...data.results.map(deliveryRow))
    if (!data.results.length) body.append(emptyRow(8, 'Nothing sent to this endpoint yet.'))
    pager('deliveries', data, page)
  })
  body.removeAttribute('aria-busy')
}

function deliveryRow(d) {
  const toggle = el(
    'button',
    {
      type: 'button',
      className: 'btn btn-small',
      'aria-expanded': 'false',
      'aria-label': `Attempts of delivery ${d.id}`,
      onclick: () => toggleAttempts(d, row, toggle),
    },
    'Attempts',
  )
  const replay = el(
    'button',
    {
      type: 'button',
      className: 'btn btn-small',
      'aria-label': `Replay delivery ${d.id}`,
      onclick: () => replayDelivery(d),
    },
    'Replay',
  )
  const row = el(
    'tr',
    { 'data-delivery-id': d.id },
    el('td', { className: 'mono' }, d.id),
    el('td', {}, d.event_type),
    el('td', { className: 'mono', title: 'webhook-id' }, d.message_id),
    el('td', {}, badge(d.status, DELIVERY_BADGES[d.status] ?? 'info')),
    el('td', {}, d.attempts),
    el('td', { className: 'mono' }, d.last_status ?? '—'),
    timeCell(d.created_at),
    el('td', { className: 'actions' }, toggle, replay),
  )
  return row
}

/** Opens (or closes) a row under the delivery with each attempt at it. */
async function toggleAttempts(d, row, toggle) {
  const open = row.nextElementSibling?.dataset.attemptsOf === String(d.id)
  if (open) {
    row.nextElementSibling.remove()
    toggle.setAttribute('aria-expanded', 'false')
    return
  }
  await guard($('webhooks-error'), async () => {
    const data = await api('GET', `${HOOKS}/deliveries/${encodeURIComponent(d.id)}/attempts/`)
    const lines = data.results.map((a) =>
      el(
        'tr',
        {},
        timeCell(a.attempted_at),
        el('td', { className: 'mono' }, a.status_code ?? '—'),
        el('td', { className: 'mono' }, `${a.latency_ms} ms`),
        el('td', {}, a.error ?? 'delivered'),
        el('td', { className: 'mono excerpt' }, a.response_excerpt ?? '—'),
      ),
    )
    const table = el(
      'table',
      { className: 'grid attempts' },
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          ...['Attempted (UTC)', 'Status', 'Latency', 'Outcome', 'Response excerpt'].map((h) =>
            el('th', { scope: 'col' }, h),
          ),
        ),
      ),
      el('tbody', {}, ...(lines.length ? lines : [emptyRow(5, 'Not tried yet.')])),
    )
    row.after(
      el('tr', { className: 'attempts-row', 'data-attempts-of': d.id }, el('td', { colspan: 8 }, table)),
    )
    toggle.setAttribute('aria-expanded', 'true')
  })
}

async function replayDelivery(d) {
  await guard($('webhooks-error'), async () => {
    const copy = await api('POST', `${HOOKS}/deliveries/${encodeURIComponent(d.id)}/replay/`)
    notice(`Delivery ${d.id} replayed as delivery ${copy.id} (same webhook-id).`)
    if (hooks.endpoint) await showDeliveries(hooks.endpoint, 1)
  })
}

export function wireDeliveries() {
  $('deliveries-refresh').addEventListener(
    'click',
    () => hooks.endpoint && showDeliveries(hooks.endpoint, hooks.page),
  )
  $('deliveries-prev').addEventListener('click', () =>
    showDeliveries(hooks.endpoint, Math.max(1, hooks.page - 1)),
  )
  $('deliveries-next').addEventListener('click', () => showDeliveries(hooks.endpoint, hooks.page + 1))
}
