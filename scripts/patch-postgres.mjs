// Guards the postgres driver (postgres.js 3.4.9) against writing to a connection that has closed
// (porsager/postgres#1208, #1154; the fix proposed upstream in PR #1209, not released):
// - a write deferred to setImmediate fires after the socket was dropped and throws from the timer,
//   which ends the process; now the pending queries are rejected with CONNECTION_CLOSED instead;
// - closing cancels a deferred write but leaves its timer set and its bytes buffered, so the
//   connection, once reconnected, never flushes again; now both are cleared.
// Runs after every install of this project (postinstall) and in the Dockerfile. Idempotent; fails
// loudly when the driver's code is not the one this was written for, so an upgrade cannot drop the
// guard unseen.
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, sep } from 'node:path'

// Installed as another project's dependency (the kit, the client): nothing here opens PostgreSQL,
// and the driver found would be that project's, which is not ours to change.
if (process.cwd().split(sep).includes('node_modules')) process.exit(0)

const MARK = '/* authjwt: closed-socket guard */'
// The package exports no package.json: its CommonJS entry is cjs/src/index.js.
const root = dirname(dirname(dirname(createRequire(join(process.cwd(), 'package.json')).resolve('postgres'))))

const edits = [
  [
    'function nextWrite(fn) {\n    const x = socket.write(chunk, fn)',
    `function nextWrite(fn) {\n    if (socket === null) { ${MARK}\n      chunk = nextWriteTimer = null\n      error(Errors.connection('CONNECTION_CLOSED', options, socket))\n      return false\n    }\n    const x = socket.write(chunk, fn)`,
    1,
  ],
  ['\n    clearImmediate(nextWriteTimer)\n', `\n    clearImmediate(nextWriteTimer), nextWriteTimer = chunk = null ${MARK}\n`, 2],
]

let patched = 0
for (const dir of ['src', 'cjs/src', 'cf/src']) {
  const file = join(root, dir, 'connection.js')
  let text = readFileSync(file, 'utf8')
  if (text.includes(MARK)) continue
  for (const [from, to, count] of edits) {
    const found = text.split(from).length - 1
    if (found !== count) {
      console.error(`patch-postgres: ${dir}/connection.js is not the code this guard was written for (expected ${count} of a line, found ${found}); see scripts/patch-postgres.mjs`)
      process.exit(1)
    }
    text = text.replaceAll(from, to)
  }
  writeFileSync(file, text)
  patched++
}
if (patched) console.log(`patch-postgres: guarded ${patched} copies of postgres/connection.js`)
