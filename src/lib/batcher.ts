interface Pending<I, O> {
  input: I
  resolve: (output: O) => void
  reject: (err: unknown) => void
}

export interface BatcherOptions {
  /** Batches running at once; further inputs wait and go out together when one finishes. */
  maxInFlight: number
  /** Largest batch handed to `run`. */
  maxBatch: number
}

/**
 * Turns many concurrent single calls into few calls with many inputs. Inputs submitted in the same
 * event-loop turn, or while `maxInFlight` batches are running, go to one call of `run`, which must
 * answer one output per input, in order.
 *
 * Why: a refresh or a logout writes one session row. One row per statement costs a database round
 * trip, a socket write and a commit each; under load that, not the work, bounds throughput. With a
 * batch the cost is paid once for all rows, and when the load is low a batch is a single input that
 * goes out on the next turn of the loop.
 */
export class Batcher<I, O> {
  private queue: Pending<I, O>[] = []
  private inFlight = 0
  private scheduled = false

  constructor(
    private readonly run: (inputs: I[]) => Promise<O[]>,
    private readonly options: BatcherOptions,
  ) {}

  submit(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ input, resolve, reject })
      this.schedule()
    })
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0 || this.inFlight >= this.options.maxInFlight) return
    this.scheduled = true
    // After the current I/O phase: the requests whose data arrived in it join this batch.
    setImmediate(this.flush)
  }

  private readonly flush = (): void => {
    this.scheduled = false
    while (this.queue.length > 0 && this.inFlight < this.options.maxInFlight) {
      this.start(this.queue.splice(0, this.options.maxBatch))
    }
  }

  private start(batch: Pending<I, O>[]): void {
    this.inFlight++
    let result: Promise<O[]>
    try {
      result = this.run(batch.map((p) => p.input))
    } catch (err) {
      result = Promise.reject(err)
    }
    result
      .then(
        (outputs) => {
          if (outputs.length !== batch.length) {
            throw new Error(`batch of ${batch.length} answered ${outputs.length} outputs`)
          }
          for (let i = 0; i < batch.length; i++) batch[i]!.resolve(outputs[i]!)
        },
        (err: unknown) => {
          for (const p of batch) p.reject(err)
        },
      )
      .catch((err: unknown) => {
        for (const p of batch) p.reject(err)
      })
      .finally(() => {
        this.inFlight--
        this.schedule()
      })
  }
}
