// Patches the postgres driver (postgres.js 3.4.9). Three guards, each applied once, in order:
//
// 1. Writing to a connection that has closed (porsager/postgres#1208, #1154; the fix proposed
//    upstream in PR #1209, not released):
//    - a write deferred to setImmediate fires after the socket was dropped and throws from the
//      timer, which ends the process; now the pending queries are rejected with CONNECTION_CLOSED;
//    - closing cancels a deferred write but leaves its timer set and its bytes buffered, so the
//      connection, once reconnected, never flushes again; now both are cleared.
// 2. Whether a statement ever reached the server: each query executed on a connection gets
//    `authjwtSent = false`, turned true when its bytes are handed to a socket that is open and whose
//    server has not said goodbye (a FATAL error: the backend exits without reading more). A query
//    that fails with its connection lost while still false provably never ran, so the service can
//    run it again on another connection, writes included (src/database/database.ts). A driver
//    without this mark leaves the property undefined, and nothing is repeated.
// 3. What a closed connection leaves behind (found with the connection-cut drill of
//    test/faults.test.ts):
//    - a query handed to a connection between its socket's error (ECONNRESET) and its close (the
//      pool still counts it busy, and a statement retried on the error's rejection lands there)
//      was never rejected: the close skips that when the socket had an error. It waited for an
//      answer that cannot come, and on the connection's next session it took the answer of the
//      statement after it (a wrong result). Now every query still held is rejected at the close;
//    - the session's state (current query, pending error, partial result) outlived the close: a
//      FATAL the server sent the old session failed the first statement of the new one. Now it
//      is cleared;
//    - when PostgreSQL terminates the session (FATAL 57P01: pg_terminate_backend, a fast
//      shutdown, as in a failover) while a statement is in flight: that statement, if its
//      CommandComplete has not come yet, did not commit, and those pipelined behind it were never
//      read. All of them get `authjwtSent = false`: repeating them is safe. Why: the backend
//      raises that FATAL only where it checks for interrupts, never between a commit and the
//      CommandComplete after it (simple protocol: commit, then CommandComplete; extended: the
//      commit comes at Sync, after it). Not for other FATALs: a pooler's own (PgBouncer's
//      query_timeout, 08P01) may cut a statement the server still commits; nor for PANIC or
//      the WARNING of an immediate stop or crash (SIGQUIT arrives anywhere, after a commit too).
//
// Runs after every install of this project (postinstall) and in the Dockerfile. Idempotent (a copy
// patched by an older version of this script gets the guards it lacks); fails loudly when the
// driver's code is not the one this was written for, so an upgrade cannot drop a guard unseen.
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, sep } from 'node:path'

// Installed as another project's dependency (the kit, the client): nothing here opens PostgreSQL,
// and the driver found would be that project's, which is not ours to change.
if (process.cwd().split(sep).includes('node_modules')) process.exit(0)

// The package exports no package.json: its CommonJS entry is cjs/src/index.js.
const root = dirname(dirname(dirname(createRequire(join(process.cwd(), 'package.json')).resolve('postgres'))))

const CLOSED = '/* authjwt: closed-socket guard */'
const SENT = '/* authjwt: sent mark */'
const CLOSE = '/* authjwt: session-end guard */'
const guards = [
  {
    mark: CLOSED,
    edits: [
      [
        'function nextWrite(fn) {\n    const x = socket.write(chunk, fn)',
        `function nextWrite(fn) {\n    if (socket === null) { ${CLOSED}\n      chunk = nextWriteTimer = null\n      error(Errors.connection('CONNECTION_CLOSED', options, socket))\n      return false\n    }\n    const x = socket.write(chunk, fn)`,
        1,
      ],
      ['\n    clearImmediate(nextWriteTimer)\n', `\n    clearImmediate(nextWriteTimer), nextWriteTimer = chunk = null ${CLOSED}\n`, 2],
    ],
  },
  {
    mark: SENT,
    edits: [
      // The queries whose bytes wait in `chunk`, and whether the server ended the session.
      ['\n    , final = null\n', `\n    , final = null\n    , unflushed = [] ${SENT}\n    , goodbye = false\n`, 1],
      ['\n    terminated = false\n', `\n    terminated = false\n    goodbye = false ${SENT}\n`, 1],
      // A query that opens a connection runs once the connection is ready: until then, not sent.
      [
        '\n    connect(query) {\n      initial = query\n',
        `\n    connect(query) {\n      initial = query\n      query && query.authjwtSent === undefined && (query.authjwtSent = false) ${SENT}\n`,
        1,
      ],
      [
        '\n      build(q)\n      return write(toBuffer(q))',
        `\n      build(q)\n      q.authjwtSent === undefined && (q.authjwtSent = false), unflushed.push(q) ${SENT}\n      return write(toBuffer(q))`,
        1,
      ],
      [
        'function nextWrite(fn) {\n',
        `function nextWrite(fn) {\n    const live = socket !== null && socket.writable && !goodbye, flushed = unflushed ${SENT}\n    unflushed = [], live && flushed.forEach(q => q.authjwtSent = true)\n`,
        1,
      ],
      [
        '  function ErrorResponse(x) {\n',
        `  function ErrorResponse(x) {\n    /^(FATAL|PANIC)$/.test(parseError(x).severity) && (goodbye = true) ${SENT}\n`,
        1,
      ],
    ],
  },
  {
    mark: CLOSE,
    edits: [
      [
        '\n    if (initial)\n      return reconnect()\n\n    !hadError && (query || sent.length) && error(',
        `\n    if (initial)\n      return (endSession(), reconnect()) ${CLOSE}\n\n    if (query || sent.length) error(`,
        1,
      ],
      [
        '\n    closedTime = performance.now()\n',
        `\n    endSession() ${CLOSE}\n    closedTime = performance.now()\n`,
        1,
      ],
      [
        '\n  /* Handlers */\n',
        `\n  function endSession() { ${CLOSE}\n    const lost = Errors.connection('CONNECTION_CLOSED', options, socket)\n    query && queryError(query, lost)\n    while (sent.length)\n      queryError(sent.shift(), lost)\n    query = results = errorResponse = null\n    result = new Result()\n  }\n\n  /* Handlers */\n`,
        1,
      ],
      [
        '  function ErrorResponse(x) {\n',
        `  function ErrorResponse(x) {\n    if (parseError(x).severity === 'FATAL' && parseError(x).code === '57P01') { ${CLOSE}\n      query && !results && result.command === null && (query.authjwtSent = false)\n      for (let i = sent.length, q; i > 0; i--) q = sent.shift(), q.authjwtSent = false, sent.push(q)\n    }\n`,
        1,
      ],
    ],
  },
]

let patched = 0
for (const dir of ['src', 'cjs/src', 'cf/src']) {
  const file = join(root, dir, 'connection.js')
  const before = readFileSync(file, 'utf8')
  let text = before
  for (const { mark, edits } of guards) {
    if (text.includes(mark)) continue
    for (const [from, to, count] of edits) {
      const found = text.split(from).length - 1
      if (found !== count) {
        console.error(`patch-postgres: ${dir}/connection.js is not the code this guard was written for (expected ${count} of a line, found ${found}); see scripts/patch-postgres.mjs`)
        process.exit(1)
      }
      text = text.replaceAll(from, to)
    }
  }
  if (text === before) continue
  writeFileSync(file, text)
  patched++
}
if (patched) console.log(`patch-postgres: guarded ${patched} copies of postgres/connection.js`)
