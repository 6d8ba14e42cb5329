// Building the page: every piece of data reaches it through textContent or attributes, never as
// markup, so a value holding HTML stays text.

export const $ = (id) => document.getElementById(id)

/** Builds an element; children are nodes or strings (strings become text nodes, never markup). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue
    if (key === 'className') node.className = value
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value)
    else node.setAttribute(key, value === true ? '' : String(value))
  }
  for (const child of children) {
    if (child === null || child === undefined) continue
    node.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
  return node
}

export function show(node, visible) {
  node.hidden = !visible
}

export function setError(node, message) {
  node.textContent = message ?? ''
  show(node, Boolean(message))
}

let noticeTimer
export function notice(message, kind = 'ok') {
  const box = $('notice')
  box.textContent = message
  box.className = `notice notice-${kind}`
  show(box, true)
  clearTimeout(noticeTimer)
  // Warnings stay until the operator acts (signs in again); confirmations fade.
  if (kind === 'ok') noticeTimer = setTimeout(() => show(box, false), 6000)
}

/** `2024-01-15T12:30:00Z` -> `2024-01-15 12:30` (`:00` kept with `seconds`); the full value stays in the title. */
export function timeCell(iso, seconds = false) {
  if (!iso) return el('td', { className: 'muted' }, '—')
  const text = iso.replace('T', ' ').replace(seconds ? /(\.\d+)?Z$/ : /:\d\d(\.\d+)?Z$/, '')
  return el('td', { className: 'nowrap' }, el('time', { datetime: iso, title: iso }, text))
}

export function ago(iso) {
  if (!iso) return '—'
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000))
  if (seconds < 60) return 'just now'
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`
  return `${Math.floor(seconds / 86400)} d ago`
}

export function badge(text, kind) {
  return el('span', { className: `badge badge-${kind}` }, text)
}
