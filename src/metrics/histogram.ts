import type { Metric } from 'prom-client'

/** One series of a histogram: the counts of one label set, written with no lookup at all. */
export class HistogramCell {
  count = 0
  sum = 0
  /** Observations per bucket (not cumulative); one past the last bound is +Inf. */
  readonly counts: Float64Array

  constructor(
    private readonly bounds: readonly number[],
    readonly labels: Readonly<Record<string, string>>,
  ) {
    this.counts = new Float64Array(bounds.length + 1)
  }

  observe(value: number): void {
    this.count++
    this.sum += value
    const bounds = this.bounds
    let i = 0
    while (i < bounds.length && value > bounds[i]!) i++
    this.counts[i]!++
  }
}

interface Sample {
  metricName: string
  labels: Record<string, string | number>
  value: number
}

/**
 * A histogram for the hot paths. prom-client's own `observe`, even on a child from `labels(...)`,
 * builds the label string and looks the series up on every call (about a microsecond); here each
 * caller keeps its HistogramCell, made once per label set, and an observation is a few additions.
 * prom-client's registry formats it: it reads any metric through `get()`, in its own shape.
 */
export class FastHistogram {
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  private readonly cells = new Map<string, HistogramCell>()

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    private readonly bounds: readonly number[],
  ) {}

  /** The series of these label values (in labelNames' order), created at its first use. */
  cell(...values: string[]): HistogramCell {
    const key = values.join('\u0000')
    let cell = this.cells.get(key)
    if (!cell) {
      const labels: Record<string, string> = {}
      this.labelNames.forEach((name, i) => {
        labels[name] = values[i] ?? ''
      })
      cell = new HistogramCell(this.bounds, labels)
      this.cells.set(key, cell)
    }
    return cell
  }

  /** The exposition prom-client's registry writes: cumulative buckets, then sum and count. */
  async get() {
    const values: Sample[] = []
    for (const cell of this.cells.values()) {
      let cumulative = 0
      this.bounds.forEach((bound, i) => {
        cumulative += cell.counts[i]!
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { ...cell.labels, le: bound },
          value: cumulative,
        })
      })
      values.push({
        metricName: `${this.name}_bucket`,
        labels: { ...cell.labels, le: '+Inf' },
        value: cell.count,
      })
      values.push({ metricName: `${this.name}_sum`, labels: cell.labels, value: cell.sum })
      values.push({ metricName: `${this.name}_count`, labels: cell.labels, value: cell.count })
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }

  reset(): void {
    for (const cell of this.cells.values()) {
      cell.count = 0
      cell.sum = 0
      cell.counts.fill(0)
    }
  }

  /** As the registry's type for what it holds. */
  asMetric(): Metric {
    return this as unknown as Metric
  }
}
