import type { Db } from '../db.js'
import { ClientRepository, StateRepository } from './clients.js'
import { SessionRepository } from './sessions.js'
import { UserRepository } from './users.js'

export interface Repositories {
  users: UserRepository
  sessions: SessionRepository
  clients: ClientRepository
  state: StateRepository
}

export function createRepositories(db: Db): Repositories {
  return {
    users: new UserRepository(db),
    sessions: new SessionRepository(db),
    clients: new ClientRepository(db),
    state: new StateRepository(db),
  }
}

export { DuplicateError, type UserRecord } from './users.js'
