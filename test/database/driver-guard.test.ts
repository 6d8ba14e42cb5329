import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import t from 'tap'
import { root } from '../helpers/server-process.js'

/**
 * The postgres driver as installed carries scripts/patch-postgres.mjs's guard (run by postinstall):
 * without it a connection cut at the wrong moment ends the process (test/server/faults.test.ts sees that
 * about one run in three).
 */
t.test('the installed postgres driver carries the guards of scripts/patch-postgres.mjs', async (t) => {
  const entry = createRequire(join(root, 'package.json')).resolve('postgres')
  const pkg = dirname(dirname(dirname(entry)))
  for (const dir of ['src', 'cjs/src', 'cf/src']) {
    const text = readFileSync(join(pkg, dir, 'connection.js'), 'utf8')
    t.match(
      text,
      /if \(socket === null\) \{ \/\* authjwt: closed-socket guard \*\//,
      `${dir}: nextWrite checks the socket`,
    )
    t.equal(
      text.split('nextWriteTimer = chunk = null').length - 1,
      2,
      `${dir}: closing clears the deferred write`,
    )
    // src/database/database.ts runs a statement again only when the driver says it never left.
    t.equal(
      text.split('/* authjwt: sent mark */').length - 1,
      6,
      `${dir}: statements are marked when sent to the server`,
    )
    // A close rejects every statement still held and clears the session; a FATAL marks the
    // statements it cut short as never run (test/faults.test.ts's connection-cut drill).
    t.equal(
      text.split('/* authjwt: session-end guard */').length - 1,
      4,
      `${dir}: a closed connection keeps no statement and no state of its session`,
    )
  }
  const again = execFileSync(process.execPath, ['scripts/patch-postgres.mjs'], { cwd: root }).toString()
  t.equal(again, '', 'running it again changes nothing')
})
