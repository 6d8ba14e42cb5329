import { readFileSync } from 'node:fs'

/**
 * `npx tsx bench/profile-summary.ts <file.cpuprofile> [top]`: self time by function and by
 * package, from a profile written by `npm run bench -- --profile`.
 */
interface Node {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
const [file, topArg] = process.argv.slice(2)
if (!file) throw new Error('usage: profile-summary <file.cpuprofile> [top]')
const profile = JSON.parse(readFileSync(file, 'utf8')) as {
  nodes: Node[]
  samples: number[]
  timeDeltas: number[]
}
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const self = new Map<number, number>()
for (const [i, id] of profile.samples.entries())
  self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
const total = [...self.values()].reduce((a, b) => a + b, 0)
const fn = new Map<string, number>()
const pkg = new Map<string, number>()
for (const [id, us] of self) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame
  const where = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/authjwt\//, '')
  const key = `${functionName || '(anon)'} ${where.split('/').slice(-2).join('/')}:${lineNumber + 1}`
  fn.set(key, (fn.get(key) ?? 0) + us)
  const p =
    /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ??
    (url.startsWith('node:') ? 'node' : url ? 'app' : functionName)
  pkg.set(p, (pkg.get(p) ?? 0) + us)
}
const show = (title: string, m: Map<string, number>, n: number) => {
  console.log(title)
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) {
    console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`)
  }
}
show('by package', pkg, 15)
show('\nby function', fn, Number(topArg ?? 40))
