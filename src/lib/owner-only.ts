import { chmodSync, lstatSync, readdirSync, type Stats, statSync } from 'node:fs'
import { join } from 'node:path'

/** A folder holding secrets that other users can reach, and that this process cannot close. */
export class FolderNotPrivateError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'FolderNotPrivateError'
  }
}

export interface Restricted {
  /** How many files and folders other users could read, write or enter, before this call. */
  files: number
  folders: number
}

/**
 * Makes `folder` and everything under it owner-only: the group's and others' bits are taken off
 * every folder (0700) and file (0600), folders before what they hold, so nobody else can swap an
 * entry meanwhile. Symbolic links are neither followed nor changed: chmod would act on what they
 * point to. A folder that does not exist is left alone.
 * Throws FolderNotPrivateError (one sentence, naming `name`) when an entry open to others cannot
 * be changed by this process: another user owns it, and may write there.
 */
export function restrictToOwner(folder: string, name = folder): Restricted {
  const counted: Restricted = { files: 0, folders: 0 }
  let top: Stats
  try {
    top = statSync(folder) // the folder itself may be a link to where the data lives
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return counted
    throw err
  }
  // One sentence: what is wrong with `path`, whose it is when not ours, and what to do.
  const refuse = (path: string, stat: Stats, problem: string, err: unknown): never => {
    const uid = process.getuid?.()
    const owner = stat.uid === uid ? '' : `, belongs to uid ${stat.uid}, not this server's user (uid ${uid}),`
    throw new FolderNotPrivateError(
      `${name}: ${path} ${problem}${owner} and cannot be made owner-only (${(err as NodeJS.ErrnoException).code}): ` +
        `give ${folder} and everything under it to the user running the server (chown -R)`,
    )
  }
  const visit = (path: string, stat: Stats) => {
    if (stat.mode & 0o077) {
      try {
        chmodSync(path, stat.mode & 0o700)
      } catch (err) {
        refuse(path, stat, `is open to other users (mode ${(stat.mode & 0o777).toString(8)})`, err)
      }
      if (stat.isDirectory()) counted.folders++
      else counted.files++
    }
    if (!stat.isDirectory()) return
    let entries: string[] = []
    try {
      entries = readdirSync(path)
    } catch (err) {
      refuse(path, stat, 'cannot be read', err)
    }
    for (const entry of entries) {
      const child = join(path, entry)
      const childStat = lstatSync(child)
      // Another file system mounted inside (a volume, /proc under a root folder) is not ours to change.
      if (!childStat.isSymbolicLink() && childStat.dev === top.dev) visit(child, childStat)
    }
  }
  visit(folder, top)
  return counted
}
