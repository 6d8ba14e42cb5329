// Webhooks (superusers): register, enable, disable and delete endpoints; their deliveries are in
// deliveries.js.
import { API, api } from './api.js'
import { confirmAction } from './confirm.js'
import { $, badge, el, notice, setError, show, timeCell } from './dom.js'
import { closeDeliveries, hooks, showDeliveries, wireDeliveries } from './deliveries.js'
import { fillEventTypes } from './event-types.js'
import { guard } from './session.js'
import { emptyRow } from './tables.js'

const HOOKS = `${API}/admin/webhooks`

export async function loadWebhooks() {
  const body = $('webhooks-body')
  body.setAttribute('aria-busy', 'true')
  await guard($('webhooks-error'), async () => {
    const [data] = await Promise.all([
      api('GET', `${HOOKS}/?page_size=100`),
      fillEventTypes($('webhook-types')),
    ])
    body.replaceChildren(...data.results.map(webhookRow))
    if (!data.results.length) body.append(emptyRow(7, 'No endpoints yet. Register one above.'))
    // The shown endpoint may have been deleted meanwhile.
    const still = hooks.endpoint && data.results.find((e) => e.id === hooks.endpoint.id)
    if (still) await showDeliveries(still, hooks.page)
    else closeDeliveries()
  })
  body.removeAttribute('aria-busy')
}

function webhookRow(e) {
  const events = e.event_types.length
    ? el('td', { className: 'events' }, ...e.event_types.map((type) => badge(type, 'info')))
    : el('td', { className: 'muted' }, 'All events')
  const small = (label, text, onclick, danger) =>
    el(
      'button',
      {
        type: 'button',
        className: danger ? 'btn btn-small btn-danger-outline' : 'btn btn-small',
        'aria-label': `${label} endpoint ${e.id}`,
        onclick,
      },
      text,
    )
  return el(
    'tr',
    { 'data-webhook-id': e.id, className: e.is_active ? '' : 'inactive' },
    el('td', { className: 'mono' }, e.id),
    el('td', { className: 'mono webhook-url', title: e.url }, e.url),
    el('td', {}, e.description || '—'),
    events,
    el('td', {}, e.is_active ? badge('Active', 'ok') : badge('Disabled', 'off')),
    timeCell(e.created_at),
    el(
      'td',
      { className: 'actions' },
      small('Show deliveries of', 'Deliveries', () => showDeliveries(e, 1)),
      e.is_active
        ? small('Disable', 'Disable', () => setWebhookActive(e, false))
        : small('Enable', 'Enable', () => setWebhookActive(e, true)),
      small('Delete', 'Delete', () => deleteWebhook(e), true),
    ),
  )
}

async function registerWebhook(event) {
  event.preventDefault()
  const url = $('webhook-url').value.trim()
  if (!url) return setError($('webhooks-error'), 'Enter the URL of the endpoint.')
  const event_types = [...$('webhook-types').selectedOptions].map((o) => o.value)
  const description = $('webhook-description').value.trim()
  $('webhook-submit').disabled = true
  await guard($('webhooks-error'), async () => {
    const created = await api('POST', `${HOOKS}/`, { url, event_types, description })
    // The secret is in this answer only: shown once, never stored by the console.
    $('webhook-secret-url').textContent = created.url
    $('webhook-secret-value').textContent = created.secret
    show($('webhook-secret'), true)
    $('webhook-form').reset()
    notice(`Endpoint ${created.id} registered.`)
    await loadWebhooks()
  })
  $('webhook-submit').disabled = false
}

function hideSecret() {
  $('webhook-secret-value').textContent = ''
  show($('webhook-secret'), false)
}

async function setWebhookActive(e, active) {
  await guard($('webhooks-error'), async () => {
    await api('PATCH', `${HOOKS}/${encodeURIComponent(e.id)}/`, { is_active: active })
    notice(
      `Endpoint ${e.id} ${active ? 'enabled: waiting deliveries are sent' : 'disabled: deliveries wait'}.`,
    )
    await loadWebhooks()
  })
}

async function deleteWebhook(e) {
  const ok = await confirmAction({
    title: 'Delete endpoint',
    text: `${e.url} will receive nothing more; its deliveries and their history are deleted.`,
    action: 'Delete endpoint',
  })
  if (!ok) return
  await guard($('webhooks-error'), async () => {
    await api('DELETE', `${HOOKS}/${encodeURIComponent(e.id)}/`)
    if (hooks.endpoint?.id === e.id) closeDeliveries()
    notice(`Endpoint ${e.id} deleted.`)
    await loadWebhooks()
  })
}

export function wireWebhooks() {
  $('webhook-form').addEventListener('submit', registerWebhook)
  $('webhook-secret-done').addEventListener('click', hideSecret)
  wireDeliveries()
}
