import type { Cluster, Redis } from 'ioredis'
import { type CounterState, keys } from './store.js'

// Sets the completeness mark only while this restore's own sentinel survives: a FLUSHALL or a
// restart during the restore removes the sentinel, and with it whatever the restore had written.
const FINISH_RESTORE = `
if redis.call('DEL', KEYS[1]) == 1 then
  redis.call('SET', KEYS[2], ARGV[1])
  return 1
end
return 0`

// One counter: the first hit starts its window; answers the count and the milliseconds left.
const HIT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}`

/** The Lua scripts defined on the client. */
interface Scripts {
  finishRestore(sentinel: string, complete: string, value: string): Promise<number>
  hitCounter(key: string, windowMs: number): Promise<[number, number]>
}

/** Defines the scripts on a client, once, before it is used. */
export function defineScripts(client: Redis | Cluster): void {
  client.defineCommand('finishRestore', { numberOfKeys: 2, lua: FINISH_RESTORE })
  client.defineCommand('hitCounter', { numberOfKeys: 1, lua: HIT })
}

/** The client, with the scripts defineScripts gave it. */
export function scripts(client: Redis | Cluster): Scripts {
  return client as unknown as Scripts
}

/** One hit on each counter (one script call per key, so each goes to its own slot on a cluster). */
export function hitCounters(
  client: Redis | Cluster,
  prefix: string,
  counters: string[],
  windowMs: number,
): Promise<CounterState[]> {
  return Promise.all(
    counters.map(async (name) => {
      const [count, left] = await scripts(client).hitCounter(keys.counter(prefix, name), windowMs)
      return { count, resetInMs: left > 0 ? left : windowMs }
    }),
  )
}
