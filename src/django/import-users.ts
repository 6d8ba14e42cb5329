import type { Repositories } from '../repositories.js'
import { printable, quoted } from '../lib/printable.js'
import type { RevocationService } from '../revocation/service.js'
import { planImport } from './import-plan.js'
import type { DjangoSource } from './import-source.js'
import type { ImportRepository } from '../accounts/user-import.js'

export interface ImportDeps {
  imports: ImportRepository
  repos: Pick<Repositories, 'users'>
  revocations: RevocationService
  print(line: string): void
  /** Rows written so far of the total, for a progress bar. */
  progress?(done: number, total: number): void
}

export interface ImportReport {
  created: number
  updated: number
  unchanged: number
  skipped: number
  blacklisted: number
}

/**
 * Imports Django's users (and SimpleJWT's blacklist) into ours, or with `dryRun` says what it
 * would do. Every skipped row is printed with its reason; the summary line ends the report.
 */
export async function importDjango(
  d: ImportDeps,
  readSource: () => Promise<DjangoSource>,
  options: { dryRun: boolean; emailsVerified?: boolean },
): Promise<ImportReport> {
  const startedMs = Date.now()
  // Two databases, read at once.
  const [source, existing] = await Promise.all([readSource(), d.imports.existing()])
  const plan = planImport(source.users, existing)
  // The source's text is escaped: a name must not move the operator's cursor or clear the screen.
  for (const s of plan.skipped) {
    d.print(
      `skipped row ${s.row} (id ${printable(s.id, 40) || '?'}, username ${quoted(s.username)}): ${s.reason}`,
    )
  }
  for (const w of plan.warnings) d.print(`note: ${w}`)
  for (const n of source.notes) d.print(`note: ${n}`)

  const blacklisted = source.blacklisted?.length ?? 0
  if (!options.dryRun) {
    const total = plan.create.length + plan.update.length
    let done = 0
    const step = (n: number) => {
      done += n
      d.progress?.(done, total)
    }
    await d.imports.create(plan.create, step, options.emailsVerified)
    await d.imports.update(plan.update, step, options.emailsVerified)
    await d.imports.advanceIdSequence()
    // Deactivated in Django since the last import: their tokens here stop now, as on any deactivation.
    for (const id of plan.deactivated) {
      const user = await d.repos.users.findById(id)
      if (user) await d.revocations.revokeUser(user, 'deactivated')
    }
    for (const token of source.blacklisted ?? []) await d.revocations.denyToken(token.jti, token.exp)
  }

  const report = {
    created: plan.create.length,
    updated: plan.update.length,
    unchanged: plan.unchanged,
    skipped: plan.skipped.length,
    blacklisted,
  }
  const verb = options.dryRun ? 'would be' : 'were'
  const seconds = Math.max(0.001, (Date.now() - startedMs) / 1000)
  const rate = Math.round(source.users.length / seconds).toLocaleString('en')
  d.print(
    `${options.dryRun ? 'Dry run, nothing written: ' : ''}${source.users.length} Django users read; ` +
      `${report.created} ${verb} created, ${report.updated} updated, ${report.unchanged} unchanged, ` +
      `${report.skipped} skipped; ${blacklisted} blacklisted refresh token(s) ${options.dryRun ? 'would be ' : ''}denied ` +
      `(${seconds.toFixed(1)} s, ${rate} rows/s).`,
  )
  return report
}
