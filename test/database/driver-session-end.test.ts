import { once } from 'node:events'
import { createServer, type Server, type Socket } from 'node:net'
import postgres from 'postgres'
import t from 'tap'

/**
 * What the postgres driver does when a server ends a session, against a stand-in server that
 * speaks just enough of PostgreSQL's protocol to be scripted exactly (the real one cannot be made
 * to end a session at a chosen byte). Guard 3 of scripts/patch-postgres.mjs; the fault drill in
 * test/faults.test.ts shows the same on a real PostgreSQL, under load.
 */

type Reply = (socket: Socket, sql: string) => void

const message = (type: string, body: Buffer) => {
  const head = Buffer.alloc(5)
  head.write(type, 0)
  head.writeInt32BE(body.length + 4, 1)
  return Buffer.concat([head, body])
}
const int32 = (n: number) => {
  const b = Buffer.alloc(4)
  b.writeInt32BE(n)
  return b
}
const int16 = (n: number) => {
  const b = Buffer.alloc(2)
  b.writeInt16BE(n)
  return b
}
const cstring = (s: string) => Buffer.from(`${s}\0`)
const ready = message('Z', Buffer.from('I'))

/** One text column holding the statement's own text: an answer that names its statement. */
const answer: Reply = (socket, sql) =>
  socket.write(
    Buffer.concat([
      message(
        'T',
        Buffer.concat([
          int16(1),
          cstring('sql'),
          int32(0),
          int16(0),
          int32(25),
          int16(-1),
          int32(-1),
          int16(0),
        ]),
      ),
      message('D', Buffer.concat([int16(1), int32(Buffer.byteLength(sql)), Buffer.from(sql)])),
      message('C', cstring('SELECT 1')),
      ready,
    ]),
  )
/** PostgreSQL's own termination (pg_terminate_backend) by default; 08P01 is what PgBouncer sends. */
const fatal = (socket: Socket, code = '57P01') =>
  socket.end(
    message(
      'E',
      Buffer.concat([
        cstring('SFATAL'),
        cstring('VFATAL'),
        cstring(`C${code}`),
        cstring('Mterminating connection'),
        Buffer.from('\0'),
      ]),
    ),
  )

/** A server answering each simple query with `reply`; every session starts with trust auth. */
async function standIn(reply: Reply): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => {
    let buffered = Buffer.alloc(0)
    let started = false
    socket.on('error', () => {})
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk])
      for (;;) {
        if (!started) {
          if (buffered.length < 4 || buffered.length < buffered.readInt32BE(0)) return
          buffered = buffered.subarray(buffered.readInt32BE(0))
          started = true
          socket.write(
            Buffer.concat([message('R', int32(0)), message('K', Buffer.concat([int32(7), int32(9)])), ready]),
          )
          continue
        }
        if (buffered.length < 5 || buffered.length < buffered.readInt32BE(1) + 1) return
        const length = buffered.readInt32BE(1)
        const type = String.fromCharCode(buffered[0]!)
        const body = buffered.subarray(5, length + 1)
        buffered = buffered.subarray(length + 1)
        if (type === 'Q') reply(socket, body.subarray(0, body.length - 1).toString())
        if (type === 'X') socket.end()
      }
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { server, port: (server.address() as { port: number }).port }
}

const within = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)),
  ])

const sent = (query: unknown) => (query as { authjwtSent?: boolean }).authjwtSent

t.test(
  'a statement handed to a connection whose socket just reset is rejected, and later statements get their own answers',
  async (t) => {
    const { server, port } = await standIn((socket, sql) => {
      if (sql === 'select 1') socket.resetAndDestroy()
      else answer(socket, sql)
    })
    t.teardown(() => server.close())
    const sql = postgres({ host: '127.0.0.1', port, max: 1, fetch_types: false, onnotice: () => {} })
    t.teardown(() => sql.end({ timeout: 1 }))

    // A connection in use (a connection's first statement keeps it out of the pool's rotation).
    t.same((await sql.unsafe('select 0'))[0], { sql: 'select 0' })
    // The retry a caller makes on the reset's rejection: the pool still counts the connection busy
    // and hands the statement to it, before its close.
    const retried = sql.unsafe('select 2')
    const first = await within(
      sql.unsafe('select 1').then(
        () => 'answered',
        async (err: { code?: string }) =>
          `${err.code}; retry: ${await retried.then(
            () => 'answered',
            (e: { code?: string }) => e.code,
          )}`,
      ),
      2000,
    ).catch((err: Error) => err.message)
    t.equal(
      first,
      'ECONNRESET; retry: CONNECTION_CLOSED',
      'the retry is rejected at the close, not left waiting',
    )
    t.equal(sent(retried), false, 'and marked as never sent, so it may run again')

    const [third, fourth] = await within(Promise.all([sql.unsafe('select 3'), sql.unsafe('select 4')]), 2000)
    t.same(
      [third![0]!.sql, fourth![0]!.sql],
      ['select 3', 'select 4'],
      'the next statements each get their own answer',
    )
  },
)

t.test(
  'a termination (FATAL 57P01) ends the session: what it cut short is marked never run, what completed is not',
  async (t) => {
    let script: Reply = (socket) => fatal(socket)
    const { server, port } = await standIn((socket, sql) => script(socket, sql))
    t.teardown(() => server.close())
    const sql = postgres({ host: '127.0.0.1', port, max: 1, fetch_types: false, onnotice: () => {} })
    t.teardown(() => sql.end({ timeout: 1 }))

    const cut = sql.unsafe('select 1')
    const code = await cut.then(
      () => 'answered',
      (err: { code?: string }) => err.code,
    )
    t.ok(code === '57P01' || code === 'CONNECTION_CLOSED', `the statement fails (${code})`)
    t.equal(sent(cut), false, 'a FATAL before its CommandComplete: it did not commit, it may run again')

    // A FATAL after the statement's CommandComplete (simple protocol: it committed) leaves it as run.
    script = (socket) => {
      socket.write(message('C', cstring('UPDATE 1')))
      fatal(socket)
    }
    const completed = sql.unsafe('update t set x = 1')
    await completed.then(
      () => {},
      () => {},
    )
    t.equal(
      sent(completed),
      true,
      'a FATAL after its CommandComplete: it may have committed, it is not repeated',
    )

    // A pooler's own FATAL (PgBouncer's query_timeout) may cut a statement the server still commits.
    script = (socket) => fatal(socket, '08P01')
    const pooled = sql.unsafe('update t set x = 2')
    await pooled.then(
      () => {},
      () => {},
    )
    t.equal(sent(pooled), true, "another FATAL than PostgreSQL's termination: it is not repeated")

    // The FATAL of the old session does not fail the new session's first statement.
    script = answer
    t.same((await within(sql.unsafe('select 5'), 2000))[0], { sql: 'select 5' }, 'the next session answers')
  },
)
