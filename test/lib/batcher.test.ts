import t from 'tap'
import { Batcher } from '../../src/lib/batcher.js'

/** A `run` that records each batch and answers when told to. */
function recorder() {
  const batches: number[][] = []
  const release: Array<() => void> = []
  const run = (inputs: number[]) => {
    batches.push(inputs)
    return new Promise<number[]>((resolve) => release.push(() => resolve(inputs.map((n) => n * 10))))
  }
  return { batches, release, run }
}

const turn = () => new Promise((resolve) => setImmediate(resolve))

t.test('calls made in one turn share one batch, and each caller gets its own answer', async (t) => {
  const r = recorder()
  const batcher = new Batcher(r.run, { maxInFlight: 4, maxBatch: 100 })
  const answers = Promise.all([1, 2, 3].map((n) => batcher.submit(n)))
  await turn()
  t.same(r.batches, [[1, 2, 3]])
  r.release.shift()!()
  t.same(await answers, [10, 20, 30])
})

t.test('while maxInFlight batches run, new calls wait and then go out together', async (t) => {
  const r = recorder()
  const batcher = new Batcher(r.run, { maxInFlight: 1, maxBatch: 100 })
  const first = batcher.submit(1)
  await turn()
  const later = [batcher.submit(2), batcher.submit(3)]
  await turn()
  await turn()
  t.same(r.batches, [[1]], 'nothing else starts while one batch runs')
  const fourth = batcher.submit(4)
  r.release.shift()!()
  t.equal(await first, 10)
  // The finished batch frees its slot after its callers are answered; the next goes out a turn later.
  await turn()
  await turn()
  t.same(r.batches, [[1], [2, 3, 4]], 'the waiting calls form the next batch')
  r.release.shift()!()
  t.same(await Promise.all([...later, fourth]), [20, 30, 40])
})

t.test('maxBatch splits a long queue', async (t) => {
  const r = recorder()
  const batcher = new Batcher(r.run, { maxInFlight: 8, maxBatch: 2 })
  const answers = Promise.all([1, 2, 3, 4, 5].map((n) => batcher.submit(n)))
  await turn()
  t.same(r.batches, [[1, 2], [3, 4], [5]])
  for (const release of r.release.splice(0)) release()
  t.same(await answers, [10, 20, 30, 40, 50])
})

t.test('a failed batch fails its callers only, and the next batch still runs', async (t) => {
  let calls = 0
  const batcher = new Batcher(
    async (inputs: number[]) => {
      calls++
      if (calls === 1) throw new Error('database went away')
      return inputs
    },
    { maxInFlight: 1, maxBatch: 10 },
  )
  const failed = [batcher.submit(1), batcher.submit(2)]
  for (const p of failed) await t.rejects(p, /database went away/)
  t.equal(await batcher.submit(3), 3)
})

t.test('a run that throws synchronously, or answers the wrong number of outputs, rejects', async (t) => {
  const throwing = new Batcher<number, number>(
    () => {
      throw new Error('bad statement')
    },
    { maxInFlight: 1, maxBatch: 10 },
  )
  await t.rejects(throwing.submit(1), /bad statement/)
  const short = new Batcher(async (inputs: number[]) => inputs.slice(1), { maxInFlight: 1, maxBatch: 10 })
  const both = [short.submit(1), short.submit(2)]
  for (const p of both) await t.rejects(p, /batch of 2 answered 1/)
})
