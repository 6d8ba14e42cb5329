/** One account's place at the slots: how many it holds, when it last got one, who of it waits. */
interface Lane {
  running: number
  lastServed: number
  waiting: (() => void)[]
}

/**
 * The hashing slots: at most `concurrency` password hashes run at once, the rest wait. More in
 * flight cannot go faster (each hash keeps a core busy), but each holds memory and a libuv pool
 * thread that file and DNS work also need.
 *
 * A freed slot goes to the waiting account that holds the fewest slots, and among those to the one
 * served longest ago (a newcomer first), never simply to the oldest waiter. An account alone may
 * use every slot; once others wait, it keeps its share only. So a guesser hammering a few accounts
 * whose hashes are slow cannot fill the slots and the queue: another user's login gets the next
 * slot that frees, after one check at most. The guesser's own attempts wait their account's turn,
 * as many as the login throttle lets in (LOGIN_RATE_LIMIT, LOGIN_ACCOUNT_RATE_LIMIT).
 */
export class HashingSlots {
  private running = 0
  private served = 0
  private readonly lanes = new Map<string, Lane>()

  constructor(readonly concurrency: number) {}

  /**
   * Runs `work` in a slot, in the turn of `account` (the throttle's name for it; '' for work that
   * names none). `spent` hears how long it held the slot, its wait for one left out.
   */
  async run<T>(work: () => Promise<T>, account = '', spent?: (ms: number) => void): Promise<T> {
    let lane = this.lanes.get(account)
    if (!lane) {
      lane = { running: 0, lastServed: 0, waiting: [] }
      this.lanes.set(account, lane)
    }
    if (this.running < this.concurrency) {
      this.running += 1
      this.give(lane)
    } else {
      // The slot is handed over, and counted, by whoever frees it (handOver).
      await new Promise<void>((resolve) => lane.waiting.push(resolve))
    }
    const started = performance.now()
    try {
      return await work()
    } finally {
      spent?.(performance.now() - started)
      lane.running -= 1
      this.handOver()
      if (lane.running === 0 && lane.waiting.length === 0) this.lanes.delete(account)
    }
  }

  private give(lane: Lane): void {
    lane.running += 1
    this.served += 1
    lane.lastServed = this.served
  }

  /** The freed slot to the next lane in turn, or back to the pool when nobody waits. */
  private handOver(): void {
    let next: Lane | undefined
    for (const lane of this.lanes.values()) {
      if (lane.waiting.length === 0) continue
      const before =
        !next ||
        lane.running < next.running ||
        (lane.running === next.running && lane.lastServed < next.lastServed)
      if (before) next = lane
    }
    if (!next) {
      this.running -= 1
      return
    }
    this.give(next)
    next.waiting.shift()!()
  }
}
