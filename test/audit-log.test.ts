import t from 'tap'
import { AuditLog } from '../src/audit/audit-log.js'
import type { AuditRepository } from '../src/audit/audit-repository.js'
import type { AuditRecord, StoredEvent } from '../src/audit/events.js'
import type { Db } from '../src/database/database.js'

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
