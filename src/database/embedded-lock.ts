import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'

/** Another live process has the embedded database folder open. */
export class FolderInUseError extends Error {
  constructor(
    readonly pid: number,
    readonly folder: string,
  ) {
    super(`The embedded database in ${folder} is open in another process (pid ${pid}).`)
    this.name = 'FolderInUseError'
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * PGlite is one process's database: two processes opening one folder each work on their own copy
 * in memory and overwrite each other's files, so one of them loses what it wrote. The first
 * process to open a folder writes its pid beside it; another is refused while that process lives.
 * A lock left by a process that died is taken over. Returns the release.
 */
export function lockFolder(folder: string): () => void {
  const file = `${folder}.lock`
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600)
      writeSync(fd, String(process.pid))
      closeSync(fd)
      return () => {
        try {
          if (readFileSync(file, 'utf8') === String(process.pid)) unlinkSync(file)
        } catch {
          // Already gone.
        }
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    let holder = 0
    try {
      holder = Number(readFileSync(file, 'utf8'))
    } catch {
      continue // Released meanwhile: try again.
    }
    if (holder > 0 && holder !== process.pid && alive(holder)) throw new FolderInUseError(holder, folder)
    try {
      unlinkSync(file)
    } catch {
      // Another process took it over first; the next attempt tells.
    }
  }
  throw new Error(`could not lock ${folder}`)
}
