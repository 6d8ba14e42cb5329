import type { Cluster, Redis } from 'ioredis'
import { type CounterState, keys } from './store.js'

// Sets the completeness mark only while this restore's own sentinel survives: a FLUSHALL or a
// restart during the restore removes the sentinel, and with it whatever the restore had written.
// The mark is the server's time in ms and, on a cluster, the id of the node it was written on: a
// replica copies the mark, so a reader trusts a bucket only where the node serving it wrote it.
const FINISH_RESTORE = `
if redis.call('DEL', KEYS[1]) == 1 then
  local t = redis.call('TIME')
  local id = redis.pcall('CLUSTER', 'MYID')
  if type(id) ~= 'string' then id = '' end
  redis.call('SET', KEYS[2], t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000)) .. ':' .. id)
  return 1
end
return 0`

// One counter: the first hit starts its window; answers the count and the milliseconds left.
const HIT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}`

// A user's state, stamped with the server's clock in microseconds. A restore's write (ARGV[3], the
// server's time when the restore began) is dropped where the entry held is as recent or more: that
// entry was written after the restore read the database.
const SET_USER_STATE = `
local stamp = ARGV[3]
if stamp == '' then
  local t = redis.call('TIME')
  stamp = t[1] .. string.format('%06d', tonumber(t[2]))
else
  local held = redis.call('GET', KEYS[1])
  local heldStamp = held and tonumber(string.match(held, '^[^|]*|[^|]*|[^|]*|(%d+)$') or '0')
  if heldStamp and heldStamp >= tonumber(stamp) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. stamp, 'EX', ARGV[2])
return 1`

// The global mark only moves forward; a higher mark held keeps its own (longer) TTL.
const RAISE_MARK = `
local held = redis.call('GET', KEYS[1])
if held and tonumber(held) >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1`

/** The Lua scripts defined on the client. */
interface Scripts {
  finishRestore(sentinel: string, complete: string): Promise<number>
  hitCounter(key: string, windowMs: number): Promise<[number, number]>
  setUserState(key: string, encoded: string, ttlSeconds: number, restoreStamp: string): Promise<number>
  raiseMark(key: string, ms: string, ttlSeconds: number): Promise<number>
}

/** Defines the scripts on a client, once, before it is used. */
export function defineScripts(client: Redis | Cluster): void {
  client.defineCommand('finishRestore', { numberOfKeys: 2, lua: FINISH_RESTORE })
  client.defineCommand('hitCounter', { numberOfKeys: 1, lua: HIT })
  client.defineCommand('setUserState', { numberOfKeys: 1, lua: SET_USER_STATE })
  client.defineCommand('raiseMark', { numberOfKeys: 1, lua: RAISE_MARK })
}

/** A server's TIME reply as the stamp SET_USER_STATE writes: microseconds since the epoch. */
export async function serverStamp(node: Redis): Promise<string> {
  const [seconds, micros] = await node.time()
  return `${seconds}${String(micros).padStart(6, '0')}`
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
