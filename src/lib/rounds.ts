/**
 * The driving loop of an outbox sender (mail, webhooks): `kick()` after a commit runs a round at
 * once, a timer runs one every `pollMs` for retries and for rows other instances queued. Kicks
 * during a round never run a second round beside it; they run one more after it, so nothing
 * queued meanwhile waits for the timer.
 */
export class Rounds {
  private running: Promise<void> | undefined
  private again = false
  private timer: NodeJS.Timeout | undefined
  stopped = false

  constructor(private readonly round: () => Promise<void>) {}

  start(pollMs: number): void {
    this.timer = setInterval(() => this.kick(), pollMs)
    this.timer.unref()
    this.kick()
  }

  kick(): void {
    if (this.stopped) return
    if (this.running) {
      this.again = true
      return
    }
    this.running = this.round().finally(() => {
      this.running = undefined
      if (this.again) {
        this.again = false
        this.kick()
      }
    })
  }

  /** Resolves once no round runs (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.timer)
    await this.idle()
  }
}
