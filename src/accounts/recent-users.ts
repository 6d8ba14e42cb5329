/**
 * Users read less than `ms` ago, for answers that only show a user (GET /users/me/). This
 * process's writes forget an entry at once, another instance's show after `ms` at most, and
 * access decisions never use it: revocation and deactivation are checked in the revocation store
 * on every request.
 */
export class RecentUsers<User> {
  private readonly recent = new Map<number, { at: number; user: User }>()
  private readonly reading = new Map<number, Promise<User | undefined>>()
  private writes = 0

  constructor(
    private readonly read: (id: number) => Promise<User | undefined>,
    private readonly ms: number,
  ) {}

  async get(id: number): Promise<User | undefined> {
    if (this.ms <= 0) return this.read(id)
    const hit = this.recent.get(id)
    if (hit && Date.now() - hit.at < this.ms) return hit.user
    // Concurrent misses for one user share one read, so an expiring entry costs one query, not a burst.
    let reading = this.reading.get(id)
    if (!reading) {
      const at = Date.now()
      const writesBefore = this.writes
      reading = this.read(id).finally(() => this.reading.delete(id))
      this.reading.set(id, reading)
      const user = await reading
      if (this.recent.size >= 10_000) this.recent.clear()
      // A write while reading may have landed after the row was read: keep nothing then.
      if (user && writesBefore === this.writes) this.recent.set(id, { at, user })
      else this.recent.delete(id)
      return user
    }
    return reading
  }

  forget(id: number): void {
    this.writes += 1
    this.recent.delete(id)
    this.reading.delete(id)
  }
}
