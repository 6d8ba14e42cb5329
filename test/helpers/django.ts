import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import postgres from 'postgres'
import type { Test } from 'tap'
import type { ImportReport } from '../../src/django/import-users.js'
import { importDjango } from '../../src/django/import-users.js'
import { readDjangoDatabase } from '../../src/django/import-source.js'
import { PG_URL } from './backends.js'
import type { TestApp } from './backends.js'
import { root } from './server-process.js'

/**
 * The project's shared material (the Django fixture, the SimpleJWT peer): SHARED_DIR when set,
 * else the `shared` folder beside this checkout, else the one on the development machines. A
 * clone made elsewhere (CI's, in a temporary folder) finds it all the same.
 */
function findShared(): string {
  const candidates = [process.env.SHARED_DIR, join(root, '..', 'shared'), '/work/shared']
  for (const dir of candidates) {
    if (dir && existsSync(join(dir, 'fixtures', 'django-simplejwt.sql'))) return resolve(dir)
  }
  throw new Error(
    `the shared folder (fixtures/, peers/) is in none of: ${candidates.filter(Boolean).join(', ')}; set SHARED_DIR`,
  )
}

export const SHARED = findShared()
export const FIXTURE = join(SHARED, 'fixtures', 'django-simplejwt.sql')

/** A database of its own on the real server, dropped when the test ends; `fixture` is loaded with psql. */
export async function djangoDatabase(t: Test, fixture?: string): Promise<string> {
  const name = `authjwt_django_${randomBytes(5).toString('hex')}`
  const admin = postgres(PG_URL, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name}`)
  t.teardown(async () => {
    await admin.unsafe(`drop database if exists ${name} with (force)`)
    await admin.end({ timeout: 2 })
  })
  const url = new URL(PG_URL)
  url.pathname = `/${name}`
  if (fixture) {
    execFileSync('psql', ['-q', '-v', 'ON_ERROR_STOP=1', '-d', url.toString(), '-f', fixture], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
  }
  return url.toString()
}

/** Imports the Django database at `url` into the app's, as `import-django --from` does. */
export async function importInto(
  app: TestApp,
  url: string,
  lines: string[] = [],
  table?: string,
): Promise<ImportReport> {
  const { repos, revocations } = app.app
  return importDjango(
    { imports: repos.imports, repos, revocations, print: (line) => lines.push(line) },
    () => readDjangoDatabase(url, table),
    { dryRun: false },
  )
}
