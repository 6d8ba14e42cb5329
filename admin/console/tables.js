// The list pages' shared pieces: the row that says a list is empty, and the pager under it.
import { PAGE_SIZE } from './api.js'
import { $, el } from './dom.js'

export function pager(prefix, data, page) {
  const pages = Math.max(1, Math.ceil(data.count / PAGE_SIZE))
  const first = data.count === 0 ? 0 : (page - 1) * PAGE_SIZE + 1
  const last = (page - 1) * PAGE_SIZE + data.results.length
  $(`${prefix}-count`).textContent = `${first}–${last} of ${data.count}`
  $(`${prefix}-page`).textContent = `Page ${page} of ${pages}`
  $(`${prefix}-prev`).disabled = !data.previous
  $(`${prefix}-next`).disabled = !data.next
}

export function emptyRow(columns, text) {
  return el('tr', { className: 'empty' }, el('td', { colspan: columns }, text))
}
