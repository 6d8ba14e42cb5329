import t from 'tap'
import { AuditLog } from '../../src/audit/audit-log.js'
import type { AuditRepository } from '../../src/audit/audit-repository.js'
import type { AuditRecord, StoredEvent } from '../../src/audit/events.js'
import type { Db } from '../../src/database/database.js'

/**
 * The writer's promises, over a database that fails when told to: nothing is lost or reordered
 * while the database is away, a failing detector costs its alerts only, and close() writes all.
 */
function fakeDatabase() {
  const written: StoredEvent[] = []
  const state = { down: false, attempts: 0 }
  let id = 0
  const repo = {
    async insert(records: AuditRecord[]) {
      state.attempts++
      if (state.down) throw Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' })
      const stored = records.map((r) => ({ ...r, id: ++id }))
      written.push(...stored)
      return stored
    },
  } as unknown as AuditRepository
  const tx = { transaction: (fn: (sp: unknown) => unknown) => fn(tx) }
  const db = { transaction: (fn: (t: unknown) => unknown) => fn(tx) } as unknown as Db
  return { db, repo, written, state }
}

const meta = { ip: '192.0.2.1', userAgent: 'ua', requestId: 'r-1' }

t.test('events wait while the database is away and are written in order when it returns', async (t) => {
  const { db, repo, written, state } = fakeDatabase()
  const errors: number[] = []
  const log = new AuditLog(db, repo, { flushMs: 10, onError: (_err, pending) => errors.push(pending) })
  state.down = true
  for (let i = 1; i <= 5; i++) log.record({ type: 'login.succeeded', userId: i }, meta)
  await new Promise((r) => setTimeout(r, 100))
  t.ok(errors.length >= 1, 'the failure is reported')
  t.equal(log.pending, 5, 'nothing dropped while down')
  t.equal(written.length, 0)
  state.down = false
  log.record({ type: 'login.succeeded', userId: 6 }, meta)
  await log.flush()
  t.same(
    written.map((e) => e.userId),
    [1, 2, 3, 4, 5, 6],
    'all written, in the order recorded',
  )
  t.same(written[0], { ...written[0], ip: '192.0.2.1', userAgent: 'ua', requestId: 'r-1', actorId: null })
})

t.test('a full buffer drops the oldest events and counts them', async (t) => {
  const { db, repo, written, state } = fakeDatabase()
  const log = new AuditLog(db, repo, { flushMs: 10_000, maxBuffered: 3 })
  state.down = true
  for (let i = 1; i <= 5; i++) log.record({ type: 'token.refreshed', userId: i })
  t.equal(log.dropped, 2)
  state.down = false
  await log.flush()
  t.same(
    written.map((e) => e.userId),
    [3, 4, 5],
  )
})

t.test('a detector that fails costs its alerts, not the batch', async (t) => {
  const { db, repo, written } = fakeDatabase()
  const reported: unknown[] = []
  const log = new AuditLog(db, repo, { flushMs: 10_000, onError: (err) => reported.push(err) })
  log.addDetector({
    detect: async () => {
      throw new Error('user deleted meanwhile')
    },
  })
  const seen: number[] = []
  log.addSink({ write: async (_tx, events) => void seen.push(...events.map((e) => e.id)) })
  log.record({ type: 'login.succeeded', userId: 1 })
  await log.flush()
  t.equal(written.length, 1)
  t.same(seen, [written[0]!.id], 'the sink saw the event')
  t.equal(reported.length, 1)
})

t.test('detected events are written with the batch and reach sinks and listeners', async (t) => {
  const { db, repo, written } = fakeDatabase()
  const log = new AuditLog(db, repo, { flushMs: 10_000 })
  log.addDetector({
    detect: async (_tx, events) =>
      events
        .filter((e) => e.type === 'token.reuse_detected')
        .map((e) => ({ ...e, type: 'suspicious.refresh_reuse' as const })),
  })
  const sunk: string[] = []
  log.addSink({ write: async (_tx, events) => void sunk.push(...events.map((e) => e.type)) })
  const heard: string[] = []
  log.onRecord((r) => heard.push(r.type))
  log.record({ type: 'token.reuse_detected', userId: 9 })
  await log.flush()
  t.same(
    written.map((e) => e.type),
    ['token.reuse_detected', 'suspicious.refresh_reuse'],
  )
  t.same(sunk, ['token.reuse_detected', 'suspicious.refresh_reuse'])
  t.same(heard, ['token.reuse_detected', 'suspicious.refresh_reuse'])
})

t.test('close() writes everything recorded; a disabled log only tells its listeners', async (t) => {
  const { db, repo, written } = fakeDatabase()
  const log = new AuditLog(db, repo, { flushMs: 60_000 })
  for (let i = 0; i < 2500; i++) log.record({ type: 'token.refreshed', userId: i })
  await log.close()
  t.equal(written.length, 2500, 'in batches, all of them')

  const off = fakeDatabase()
  const disabled = new AuditLog(off.db, off.repo, { flushMs: 10, enabled: false })
  const heard: string[] = []
  disabled.onRecord((r) => heard.push(r.type))
  disabled.record({ type: 'login.failed' })
  await disabled.close()
  t.same(heard, ['login.failed'])
  t.equal(off.written.length, 0)
  t.equal(off.state.attempts, 0)
})

/** A database that refuses, as data (SQLSTATE 22P02), every batch holding a poisoned event. */
function refusingDatabase() {
  const fake = fakeDatabase()
  const away = { setAside: false }
  const setAside: { record: AuditRecord; sqlstate: string }[] = []
  const refusing = {
    async insert(records: AuditRecord[]) {
      if (records.some((r) => r.details?.poison)) {
        fake.state.attempts++
        throw Object.assign(new Error('Failed query'), {
          cause: Object.assign(new Error('bad'), { code: '22P02' }),
        })
      }
      return fake.repo.insert(records)
    },
    async setAside(record: AuditRecord, sqlstate: string) {
      if (away.setAside) throw Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' })
      setAside.push({ record, sqlstate })
      return setAside.length
    },
  } as unknown as AuditRepository
  return { ...fake, repo: refusing, setAside, away }
}

t.test('rows the database refuses are set aside; the rest of the batch is written, in order', async (t) => {
  const { db, repo, written, setAside } = refusingDatabase()
  const told: string[] = []
  const log = new AuditLog(db, repo, {
    flushMs: 10_000,
    onSetAside: (record, sqlstate) => told.push(`${record.userId} ${sqlstate}`),
  })
  for (let i = 1; i <= 9; i++)
    log.record({ type: 'login.failed', userId: i, details: { poison: i === 3 || i === 8 } })
  await log.flush()
  t.same(
    written.map((e) => e.userId),
    [1, 2, 4, 5, 6, 7, 9],
    'every other event written, in the order recorded',
  )
  t.same(
    setAside.map((s) => s.record.userId),
    [3, 8],
  )
  t.same(told, ['3 22P02', '8 22P02'], 'each told once')
  t.equal(log.refused, 2)
  t.equal(log.pending, 0)
})

t.test('a database that goes away while a refused row is set aside keeps it, once', async (t) => {
  const { db, repo, written, setAside, away } = refusingDatabase()
  const log = new AuditLog(db, repo, { flushMs: 10_000 })
  for (let i = 1; i <= 4; i++) log.record({ type: 'login.failed', userId: i, details: { poison: i === 4 } })
  away.setAside = true
  await t.rejects(log.flush(), { code: 'ECONNREFUSED' })
  t.same(
    written.map((e) => e.userId),
    [1, 2, 3],
    'the rows before it are written',
  )
  t.equal(log.pending, 1, 'the refused one is kept in memory, not lost')
  t.equal(log.refused, 0)
  away.setAside = false
  await log.flush()
  t.same(
    setAside.map((s) => s.record.userId),
    [4],
    'set aside once the database answers',
  )
  t.equal(log.refused, 1)
})

t.test('what a request sent is stored as a row can hold it', async (t) => {
  const { db, repo, written } = fakeDatabase()
  const log = new AuditLog(db, repo, { flushMs: 10_000 })
  log.record(
    { type: 'user.updated', details: { fields: ['a\ud800'], '\udc00': 1, nul: 'a\u0000b', big: 2n } },
    { ip: 'not-an-ip <script>', userAgent: `${'u'.repeat(511)}\u{1F600}`, requestId: 'r\ud800' },
  )
  await log.flush()
  const [row] = written
  t.same(row?.details, { fields: ['a\uFFFD'], '\uFFFD': 1, nul: 'a\uFFFDb', big: '2' })
  t.equal(row?.ip, null)
  t.equal(row?.userAgent, `${'u'.repeat(511)}\u{1F600}`, '512 code points: the emoji is not cut')
  t.equal(row?.requestId, 'r\uFFFD')
})
