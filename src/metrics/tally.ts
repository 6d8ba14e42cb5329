import { Counter, type Registry } from 'prom-client'

/** A count kept as a plain number; prom-client reads it at scrape time. */
export class Tally {
  value = 0
}

/**
 * A prom-client counter with one label whose values are Tallies: the hot path adds one to a number
 * it holds, and the counter takes the numbers when scraped (its `collect`).
 */
export class TallyCounter {
  private readonly tallies = new Map<string, Tally>()

  constructor(
    registry: Registry,
    name: string,
    help: string,
    label: string,
    initial: readonly string[] = [],
  ) {
    const tallies = this.tallies
    new Counter({
      name,
      help,
      labelNames: [label],
      registers: [registry],
      collect() {
        this.reset()
        for (const [value, tally] of tallies) this.inc({ [label]: value }, tally.value)
      },
    })
    for (const value of initial) this.of(value)
  }

  of(value: string): Tally {
    let tally = this.tallies.get(value)
    if (!tally) {
      tally = new Tally()
      this.tallies.set(value, tally)
    }
    return tally
  }
}
