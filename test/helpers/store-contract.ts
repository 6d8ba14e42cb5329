import { setTimeout as sleep } from 'node:timers/promises'
import type { Test } from 'tap'
import { decodeUserState, type UserRevocationState } from '../../src/revocation/verdict.js'
import type { RevocationStore } from '../../src/revocation/store.js'
import { newJti } from '../../src/tokens/jti.js'

/**
 * The contract every revocation store keeps; `ttlOf` reads a key's remaining TTL where the store can
 * tell (`key` as the single-Redis layout names it; `userId`: whose entry it is).
 */
export async function contract(
  t: Test,
  store: RevocationStore,
  ttlOf?: (key: string, userId: number) => Promise<number>,
) {
  const jti = newJti()
  const userId = 1000 + Math.floor(Math.random() * 1000)

  t.test('an empty store denies nothing', async (t) => {
    t.same(await store.lookup(newJti(), 1, userId), {
      jtiDenied: false,
      sessionDenied: false,
      user: null,
      globalValidAfter: null,
    })
  })

  t.test('denyToken denies that jti only', async (t) => {
    await store.denyToken(jti, 60)
    t.equal((await store.lookup(jti, undefined, userId)).jtiDenied, true)
    t.equal((await store.lookup(newJti(), undefined, userId)).jtiDenied, false)
  })

  t.test('denySessions denies each listed session', async (t) => {
    await store.denySessions(
      [11, 12].map((id) => ({ id, userId })),
      60,
    )
    await store.denySessions([], 60)
    t.equal((await store.lookup(newJti(), 11, userId)).sessionDenied, true)
    t.equal((await store.lookup(newJti(), 12, userId)).sessionDenied, true)
    t.equal((await store.lookup(newJti(), 13, userId)).sessionDenied, false)
    t.equal((await store.lookup(newJti(), undefined, userId)).sessionDenied, false, 'no sid, nothing denied')
  })

  t.test('setUserState is read back for that user only', async (t) => {
    const state: UserRevocationState = { validAfterMs: Date.now(), status: 'inactive', expiresAtMs: 0 }
    await store.setUserState(userId, state, 60)
    t.same(decodeUserState((await store.lookup(newJti(), undefined, userId)).user), state)
    t.equal((await store.lookup(newJti(), undefined, userId + 1)).user, null)
    const cleared: UserRevocationState = { validAfterMs: 0, status: '', expiresAtMs: 0 }
    await store.setUserState(userId, cleared, 60)
    t.same(decodeUserState((await store.lookup(newJti(), undefined, userId)).user), cleared, 'overwritten')
  })

  t.test('setGlobalValidAfter applies to every user', async (t) => {
    const ms = Date.now()
    await store.setGlobalValidAfter(ms, 60)
    t.equal((await store.lookup(newJti(), 5, userId)).globalValidAfter, String(ms))
    t.equal((await store.lookup(newJti(), undefined, userId + 7)).globalValidAfter, String(ms))
  })

  t.test('the global mark only moves forward', async (t) => {
    const mark = Date.now() + 1000
    await store.setGlobalValidAfter(mark, 60)
    await store.setGlobalValidAfter(mark - 500, 60)
    t.equal(
      (await store.lookup(newJti(), undefined, userId)).globalValidAfter,
      String(mark),
      'a lower mark is ignored',
    )
    await store.setGlobalValidAfter(mark + 1, 60)
    t.equal(
      (await store.lookup(newJti(), undefined, userId)).globalValidAfter,
      String(mark + 1),
      'a higher one lands',
    )
  })

  t.test('a restore replaces older user states and never undoes a write made after it began', async (t) => {
    const [earlier, later] = [userId + 4, userId + 5]
    const stale: UserRevocationState = { validAfterMs: 1, status: '', expiresAtMs: 0 }
    const read: UserRevocationState = { validAfterMs: 2, status: '', expiresAtMs: 0 }
    const deactivated: UserRevocationState = { validAfterMs: 3, status: 'inactive', expiresAtMs: 0 }
    await store.setUserState(earlier, stale, 60)
    let ran = false
    await store.keepRestored(async (scope) => {
      ran = true
      t.type(scope.stamp, 'function', 'the scope stamps user states')
      // The restore has read `read` from the database; then another instance deactivates `later`.
      await store.setUserState(later, deactivated, 60)
      for (const id of [earlier, later]) {
        if (scope.user(id)) await store.setUserState(id, read, 60, scope.stamp?.(id))
      }
    })
    t.ok(ran, 'the restore ran')
    const state = async (id: number) => decodeUserState((await store.lookup(newJti(), undefined, id)).user)
    t.same(await state(earlier), read, 'an entry written before the restore began is replaced')
    t.same(await state(later), deactivated, 'the deactivation made during the restore stands')
    await store.setUserState(later, read, 60)
    t.same(await state(later), read, 'a write outside a restore always lands')
  })

  t.test('lookups made together each get their own answer', async (t) => {
    const deniedJti = newJti()
    await store.denyToken(deniedJti, 60)
    await store.denySessions([{ id: 21, userId: userId + 2 }], 60)
    await store.setUserState(userId + 3, { validAfterMs: 5, status: '', expiresAtMs: 0 }, 60)
    // One loop turn: the Redis store answers these with a single MGET.
    const [a, b, c, d] = await Promise.all([
      store.lookup(deniedJti, 20, userId + 2),
      store.lookup(newJti(), 21, userId + 2),
      store.lookup(newJti(), 22, userId + 3),
      store.lookup(newJti(), undefined, userId + 2),
    ])
    t.same([a!.jtiDenied, a!.sessionDenied, a!.user], [true, false, null], 'denied jti only')
    t.same([b!.jtiDenied, b!.sessionDenied, b!.user], [false, true, null], 'denied session only')
    t.same([c!.jtiDenied, c!.sessionDenied], [false, false])
    t.same(decodeUserState(c!.user), { validAfterMs: 5, status: '', expiresAtMs: 0 }, 'that user state only')
    t.same([d!.jtiDenied, d!.sessionDenied, d!.user], [false, false, null], 'nothing')
    t.equal(a!.globalValidAfter, d!.globalValidAfter, 'one global mark for all')
  })

  if (ttlOf) {
    t.test('every write carries a TTL', async (t) => {
      for (const key of [`j:${jti}`, 's:11', 's:12', `u:${userId}`, 'all']) {
        const left = await ttlOf(key, userId)
        t.ok(left > 0 && left <= 60, `${key} expires in ${left}s`)
      }
    })
  }

  t.test('entries expire after their TTL; a TTL below 1s still writes', async (t) => {
    const short = newJti()
    await store.denyToken(short, 0.2)
    await store.denySessions([{ id: 21, userId: userId + 2 }], 1)
    await store.setUserState(userId + 2, { validAfterMs: 1, status: '', expiresAtMs: 0 }, 1)
    // Above every mark set so far: a lower one would be ignored.
    const mark = Date.now() + 1e9
    await store.setGlobalValidAfter(mark, 1)
    const now = await store.lookup(short, 21, userId + 2)
    t.same(
      { ...now, user: decodeUserState(now.user) },
      {
        jtiDenied: true,
        sessionDenied: true,
        user: { validAfterMs: 1, status: '', expiresAtMs: 0 },
        globalValidAfter: String(mark),
      },
    )
    await sleep(1200)
    t.same(await store.lookup(short, 21, userId + 2), {
      jtiDenied: false,
      sessionDenied: false,
      user: null,
      globalValidAfter: null,
    })
  })

  t.test('hit counts each counter within its window, then starts again', async (t) => {
    const names = [`ip:${newJti()}`, `user:${newJti()}`, `user:${newJti()}`]
    t.same(
      (await store.hit(names, 800)).map((c) => c.count),
      [1, 1, 1],
      'each counter starts at 1',
    )
    const second = await store.hit(names.slice(0, 2), 800)
    t.same(
      second.map((c) => c.count),
      [2, 2],
      'counted again',
    )
    t.ok(
      second.every((c) => c.resetInMs > 0 && c.resetInMs <= 800),
      'the window left',
    )
    await sleep(900)
    t.same(
      (await store.hit(names, 800)).map((c) => c.count),
      [1, 1, 1],
      'a new window',
    )
  })

  t.test('ping answers', async (t) => {
    await t.resolves(store.ping())
  })
}
