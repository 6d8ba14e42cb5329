// The security event types, shared by the Audit filter and the Webhooks form.
import { API, api } from './api.js'
import { el } from './dom.js'

// The service owns the list (schema/audit.ts): fetched once per page load, on first need.
let eventTypesRequest = null
function eventTypes() {
  eventTypesRequest ??= api('GET', `${API}/admin/audit/event-types/`).then(
    (data) => data.event_types,
    (err) => {
      eventTypesRequest = null // tried again on the next need
      throw err
    },
  )
  return eventTypesRequest
}

/** Appends an option per event type to `select`, once, after the options it already has. */
export async function fillEventTypes(select) {
  if (select.dataset.filled) return
  select.dataset.filled = 'pending'
  try {
    const types = await eventTypes()
    select.append(...types.map((type) => el('option', { value: type }, type)))
    select.dataset.filled = 'done'
  } catch (err) {
    delete select.dataset.filled
    throw err
  }
}
