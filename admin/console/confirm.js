// The confirmation dialog every destructive action goes through.
import { $, show } from './dom.js'

/** Resolves true when the operator confirms; `typed` demands a word typed exactly. */
export function confirmAction({ title, text, action, typed }) {
  const dialog = $('confirm-dialog')
  const input = $('confirm-input')
  const ok = $('confirm-ok')
  $('confirm-title').textContent = title
  $('confirm-text').textContent = text
  ok.textContent = action
  show($('confirm-typed'), Boolean(typed))
  $('confirm-word').textContent = typed ?? ''
  input.value = ''
  ok.disabled = Boolean(typed)
  input.oninput = () => {
    ok.disabled = input.value.trim() !== typed
  }
  return new Promise((resolve) => {
    const finish = (result) => {
      dialog.onclose = null
      $('confirm-cancel').onclick = null
      $('confirm-form').onsubmit = null
      if (dialog.open) dialog.close()
      resolve(result)
    }
    $('confirm-cancel').onclick = () => finish(false)
    dialog.onclose = () => finish(false)
    $('confirm-form').onsubmit = (event) => {
      event.preventDefault()
      if (typed && input.value.trim() !== typed) return
      finish(true)
    }
    dialog.showModal()
    ;(typed ? input : $('confirm-cancel')).focus()
  })
}
