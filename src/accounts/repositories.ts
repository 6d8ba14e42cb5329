import type { Db } from '../database/database.js'
import { ClientRepository, StateRepository } from './clients.js'
import { DeniedTokenRepository } from '../revocation/denied-tokens.js'
import { SessionRepository } from './sessions.js'
import { UserRepository } from './users.js'

export interface Repositories {
  users: UserRepository
  sessions: SessionRepository
  clients: ClientRepository
  state: StateRepository
  deniedTokens: DeniedTokenRepository
}

/** `recentUserMs`: how long a shown user may be answered from memory (UserRepository.findRecent). */
export function createRepositories(db: Db, options: { recentUserMs?: number } = {}): Repositories {
  return {
    users: new UserRepository(db, options.recentUserMs),
    sessions: new SessionRepository(db),
    clients: new ClientRepository(db),
    state: new StateRepository(db),
    deniedTokens: new DeniedTokenRepository(db),
  }
}

export { DuplicateError, type UserRecord } from './users.js'
