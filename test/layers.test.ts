import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import ts from 'typescript'

/**
 * The layer order of README's Layout section, highest first: app.ts (and the other entry points)
 * -> routes/ -> plugins/ -> src/ concepts -> src/http, src/database, src/lib, src/config -> schema/.
 * An import may stay in its layer or go down; one that goes up is what this test refuses, naming
 * the line.
 */
const root = (() => {
  let dir = dirname(fileURLToPath(import.meta.url))
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir)
  return dir
})()

const ENTRY_POINTS = ['src/app.ts', 'src/server.ts', 'src/cli.ts', 'src/cluster.ts']
// src/config/ is low too: concepts import their section from it, never the reverse (issue 30).
const FOUNDATIONS = ['src/http/', 'src/database/', 'src/lib/', 'src/config/']

/** The layer of a file, higher imports lower; undefined outside the checked folders. */
export function layerOf(file: string): { rank: number; name: string } | undefined {
  if (ENTRY_POINTS.includes(file)) return { rank: 5, name: 'entry point' }
  if (file.startsWith('routes/')) return { rank: 4, name: 'routes/' }
  if (file.startsWith('plugins/')) return { rank: 3, name: 'plugins/' }
  const foundation = FOUNDATIONS.find((folder) => file.startsWith(folder))
  if (foundation) return { rank: 1, name: foundation }
  if (file.startsWith('src/')) return { rank: 2, name: 'src/ concepts' }
  if (file.startsWith('schema/')) return { rank: 0, name: 'schema/' }
  return undefined
}

function sources(dir: string): string[] {
  if (!existsSync(join(root, dir))) return []
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)).split(sep).join('/'))
}

/** The project files a source file imports (static, type-only, re-exports and import()). */
function importsOf(file: string): { target: string; line: number }[] {
  const text = readFileSync(join(root, file), 'utf8')
  const found = ts.preProcessFile(text, true, true).importedFiles
  return found
    .filter((i) => i.fileName.startsWith('.'))
    .map((i) => {
      const target = relative(root, resolve(root, dirname(file), i.fileName))
        .split(sep)
        .join('/')
        .replace(/\.js$/, '.ts')
      return { target, line: text.slice(0, i.pos).split('\n').length }
    })
}

/** Every import in the checked folders that goes up the layers, as "file:line -> target". */
export function upwardImports(files: string[]): string[] {
  const found: string[] = []
  for (const file of files) {
    const from = layerOf(file)
    if (!from) continue
    for (const { target, line } of importsOf(file)) {
      const to = layerOf(target)
      if (to && to.rank > from.rank)
        found.push(`${file}:${line} (${from.name}) imports ${target} (${to.name})`)
    }
  }
  return found
}

const files = ['src', 'routes', 'plugins', 'schema'].flatMap(sources)

t.test('no import goes up the layers', async (t) => {
  t.ok(files.length > 100, 'the checked folders hold the sources')
  t.same(upwardImports(files), [], 'imports that point up the layer order')
})

t.test('the check sees an upward import', async (t) => {
  // A foundation module reaching up to a concept, and schema/ reaching into src/.
  t.equal(layerOf('src/http/errors.ts')?.rank, 1)
  t.ok(layerOf('src/accounts/users.ts')!.rank > layerOf('src/database/database.ts')!.rank)
  t.ok(layerOf('routes/users.ts')!.rank > layerOf('plugins/app/audit.ts')!.rank)
  t.ok(layerOf('src/app.ts')!.rank > layerOf('routes/users.ts')!.rank)
  t.ok(layerOf('src/lib/storable.ts')!.rank > layerOf('schema/db.ts')!.rank)
  t.ok(layerOf('src/keys/keyring.ts')!.rank > layerOf('src/config/tokens.ts')!.rank)
})
