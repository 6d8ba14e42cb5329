import { quoted } from '../lib/printable.js'
import { type DjangoUser, readUser } from './import-row.js'
import type { ExistingUser, ImportedUser } from '../accounts/user-import.js'

export interface Skipped {
  /**
   * The row's position in the source (1-based), and its id and username as far as readable: the
   * source's text as it is, to be escaped when shown.
   */
  row: number
  id: string
  username: string
  reason: string
}

export interface ImportPlan {
  create: ImportedUser[]
  update: ImportedUser[]
  unchanged: number
  skipped: Skipped[]
  /** Accepted rows worth an operator's look: names or e-mails that differ only in case. */
  warnings: string[]
  /** Users an update deactivates: their live tokens must stop. */
  deactivated: number[]
}

/**
 * Decides, without writing, what importing `source` into a users table holding `existing` does.
 * Every row is taken, updated, left alone, or skipped with a reason; one bad row never stops the
 * rest. Rules, each with its why:
 * - Each field follows the API's rules for it (src/accounts/create-user.ts), and the password hash
 *   the bounds of src/django/hash-limits.ts: a row the API would refuse, or whose hash could stall
 *   every login, is skipped, never stored.
 * - Django's id is kept, so the `user_id` of tokens SimpleJWT issued names the same person here.
 * - A Django id held here by another username is skipped, never merged: it is someone else.
 * - A username held here under another id is skipped for the same reason.
 * - The password hash is copied as it is; once the user logged in or changed it here (ours is
 *   argon2id), ours wins, so a second import never undoes an upgrade.
 * - E-mails two accounts share case-insensitively (Django allows it) are kept and marked shared:
 *   login by that e-mail then names no one (UserRepository.findByLogin), login by username works.
 * - last_login keeps the later of the two.
 * - A username that is another account's e-mail (or an e-mail another's username) is skipped:
 *   a login by that address would name two accounts (the database refuses it, migration 0010).
 */
export function planImport(source: Iterable<DjangoUser>, existing: Iterable<ExistingUser>): ImportPlan {
  const plan: ImportPlan = {
    create: [],
    update: [],
    unchanged: 0,
    skipped: [],
    warnings: [],
    deactivated: [],
  }
  const byId = new Map<number, ExistingUser>()
  const idOfName = new Map<string, number>()
  const emailOwners = new Map<string, Set<number>>()
  const own = (email: string, id: number) => {
    if (email === '') return
    const key = email.toLowerCase()
    const owners = emailOwners.get(key) ?? new Set<number>()
    owners.add(id)
    emailOwners.set(key, owners)
  }
  for (const user of existing) {
    byId.set(user.id, user)
    idOfName.set(user.username, user.id)
  }

  const accepted: ImportedUser[] = []
  const rowOf = new Map<ImportedUser, number>()
  const seenIds = new Set<number>()
  const seenNames = new Map<string, number>()
  const lowerNames = new Map<string, string>()
  let row = 0
  for (const raw of source) {
    row++
    const read = readUser(raw)
    const skip = (reason: string) =>
      plan.skipped.push({ row, id: String(raw.id ?? ''), username: String(raw.username ?? ''), reason })
    if (typeof read === 'string') {
      skip(read)
      continue
    }
    if (seenIds.has(read.id)) {
      skip(`id ${read.id} appears twice in the source; the first row was taken`)
      continue
    }
    if (seenNames.has(read.username)) {
      skip(`username appears twice in the source (ids ${seenNames.get(read.username)} and ${read.id})`)
      continue
    }
    const here = byId.get(read.id)
    if (here && here.username !== read.username) {
      skip(`id ${read.id} belongs to another user here (${quoted(here.username)}); not merged`)
      continue
    }
    const nameOwner = idOfName.get(read.username)
    if (nameOwner !== undefined && nameOwner !== read.id) {
      skip(`username is taken here by user id ${nameOwner}`)
      continue
    }
    seenIds.add(read.id)
    seenNames.set(read.username, read.id)
    const lower = read.username.toLowerCase()
    const twin = lowerNames.get(lower)
    if (twin !== undefined) {
      plan.warnings.push(
        `usernames ${quoted(twin)} and ${quoted(read.username)} differ only in case; both imported`,
      )
    } else {
      lowerNames.set(lower, read.username)
    }
    accepted.push(read)
    rowOf.set(read, row)
  }
  const kept = withoutLoginNameClashes(accepted, byId, new Set(seenIds), (user, reason) => {
    plan.skipped.push({ row: rowOf.get(user)!, id: String(user.id), username: user.username, reason })
    // Not imported: the row here (if any) stays as it is.
    seenIds.delete(user.id)
  })
  accepted.length = 0
  accepted.push(...kept)

  // Who holds each e-mail once the import is done: the accepted rows, and the users here they do
  // not replace.
  for (const user of accepted) own(user.email, user.id)
  for (const user of byId.values()) if (!seenIds.has(user.id)) own(user.email, user.id)
  const reported = new Set<string>()
  for (const user of accepted) {
    const key = user.email.toLowerCase()
    const owners = emailOwners.get(key)
    user.emailShared = owners !== undefined && owners.size > 1
    if (user.emailShared && !reported.has(key)) {
      reported.add(key)
      plan.warnings.push(
        `e-mail ${quoted(user.email)} is shared by user ids ${[...owners!].sort((a, b) => a - b).join(', ')} ` +
          '(case-insensitively); login by that e-mail is refused, by username it works',
      )
    }
    const here = byId.get(user.id)
    if (!here) {
      plan.create.push(user)
      continue
    }
    const merged = merge(here, user)
    if (sameUser(here, merged)) {
      plan.unchanged++
    } else {
      plan.update.push(merged)
      if (here.isActive && !merged.isActive) plan.deactivated.push(user.id)
    }
  }
  return plan
}

/**
 * The accepted rows but those whose username is another account's e-mail, or whose e-mail is
 * another account's username (case aside), among the accepted rows and the users here they do not
 * replace; `skip` hears each one left out. A skipped row no longer holds its names.
 */
function withoutLoginNameClashes(
  accepted: ImportedUser[],
  here: Map<number, ExistingUser>,
  replaced: Set<number>,
  skip: (user: ImportedUser, reason: string) => void,
): ImportedUser[] {
  const everyone = [...accepted, ...[...here.values()].filter((u) => !replaced.has(u.id))]
  const byEmail = new Map<string, Set<number>>()
  const byAtName = new Map<string, Set<number>>()
  const add = (map: Map<string, Set<number>>, key: string, id: number) =>
    map.set(key, (map.get(key) ?? new Set()).add(id))
  for (const u of everyone) {
    if (u.email) add(byEmail, u.email.toLowerCase(), u.id)
    if (u.username.includes('@')) add(byAtName, u.username.toLowerCase(), u.id)
  }
  const other = (map: Map<string, Set<number>>, key: string, id: number) =>
    [...(map.get(key) ?? [])].find((holder) => holder !== id)
  const drop = (user: ImportedUser, reason: string) => {
    skip(user, reason)
    byEmail.get(user.email.toLowerCase())?.delete(user.id)
    byAtName.get(user.username.toLowerCase())?.delete(user.id)
  }
  // The username holder gives way first: the address is the other account's.
  const first = accepted.filter((user) => {
    const owner = user.username.includes('@')
      ? other(byEmail, user.username.toLowerCase(), user.id)
      : undefined
    if (owner === undefined) return true
    drop(user, `username is the e-mail of user id ${owner}`)
    return false
  })
  const kept = first.filter((user) => {
    const holder = user.email ? other(byAtName, user.email.toLowerCase(), user.id) : undefined
    if (holder === undefined) return true
    drop(user, `e-mail is the username of user id ${holder}`)
    return false
  })
  return kept
}

/** Django's row over ours: our password once it is ours, and the later last_login. */
function merge(here: ExistingUser, incoming: ImportedUser): ImportedUser {
  const lastLogin =
    here.lastLogin && (!incoming.lastLogin || here.lastLogin > incoming.lastLogin)
      ? here.lastLogin
      : incoming.lastLogin
  const passwordHash = here.passwordHash.startsWith('$argon2id$') ? here.passwordHash : incoming.passwordHash
  return { ...incoming, passwordHash, lastLogin }
}

const time = (d: Date | null) => d?.getTime() ?? null

function sameUser(a: ImportedUser, b: ImportedUser): boolean {
  return (
    a.username === b.username &&
    a.email === b.email &&
    a.passwordHash === b.passwordHash &&
    a.firstName === b.firstName &&
    a.lastName === b.lastName &&
    a.isActive === b.isActive &&
    a.isStaff === b.isStaff &&
    a.isSuperuser === b.isSuperuser &&
    time(a.dateJoined) === time(b.dateJoined) &&
    time(a.lastLogin) === time(b.lastLogin) &&
    a.emailShared === b.emailShared
  )
}
