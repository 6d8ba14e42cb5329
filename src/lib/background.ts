/**
 * Work started after an answer was sent (so its timing tells the caller nothing), tracked so that
 * a clean shutdown waits for it instead of dropping it.
 */
export class Background {
  private readonly running = new Set<Promise<void>>()

  constructor(private readonly onError: (err: unknown) => void) {}

  run(task: () => Promise<void>): void {
    const done: Promise<void> = task()
      .catch(this.onError)
      .finally(() => this.running.delete(done))
    this.running.add(done)
  }

  async settle(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running)
  }
}
