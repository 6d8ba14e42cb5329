import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { childEnv, root, startServer } from '../helpers/server-process.js'

t.setTimeout(120_000)

t.test('the log is readable lines on a terminal and JSON elsewhere', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'authjwt-log-'))
  t.teardown(() => rm(dataDir, { recursive: true, force: true }))

  // util-linux's script gives the server a pseudo-terminal, as a developer's shell would.
  const env = childEnv({ PORT: '0', DATA_DIR: dataDir })
  const child = spawn('script', ['-qfec', `${process.execPath} --import tsx src/server.ts`, '/dev/null'], {
    cwd: root,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  let out = ''
  child.stdout.on('data', (d) => {
    out += d
  })
  const deadline = Date.now() + 60_000
  while (!out.includes('auth service listening') && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  child.stdin.write('\u0003')
  child.kill('SIGTERM')
  t.match(out, /INFO.*auth service listening on http/, 'a terminal gets readable lines')
  t.notMatch(out, '{"level":', 'not JSON')

  const server = await startServer(t, { DATA_DIR: join(dataDir, 'piped') })
  t.match(server.output(), /\{"level":30,.*"msg":"auth service listening/, 'a pipe gets JSON lines')
  await server.stop()
})
