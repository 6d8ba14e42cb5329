/**
 * Keeps sessions' last_activity fresh without a database write per request: a session is written
 * at most once per interval, and the writes of one tick go out as one UPDATE.
 */
export class SessionActivity {
  private readonly lastWritten = new Map<number, number>()
  private pending = new Set<number>()
  private readonly timer: NodeJS.Timeout

  constructor(
    private readonly write: (ids: number[], at: Date) => Promise<void>,
    private readonly onError: (err: unknown) => void,
    private readonly intervalMs = 60_000,
    flushEveryMs = 1000,
  ) {
    this.timer = setInterval(() => void this.flush(), flushEveryMs)
    this.timer.unref()
  }

  seen(sid: number, now = Date.now()): void {
    const last = this.lastWritten.get(sid)
    if (last !== undefined && now - last < this.intervalMs) return
    this.lastWritten.set(sid, now)
    this.pending.add(sid)
  }

  async flush(): Promise<void> {
    if (this.pending.size > 0) {
      const ids = [...this.pending]
      this.pending = new Set()
      try {
        await this.write(ids, new Date())
      } catch (err) {
        this.onError(err)
      }
    }
    // Forget sessions idle for longer than the interval, so the map stays small.
    if (this.lastWritten.size > 10_000) {
      const cutoff = Date.now() - this.intervalMs
      for (const [sid, at] of this.lastWritten) if (at < cutoff) this.lastWritten.delete(sid)
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer)
    await this.flush()
  }
}
