import type { Db } from './database/database.js'
import { ClientRepository } from './accounts/clients.js'
import { ImportRepository } from './accounts/user-import.js'
import { DeniedTokenRepository } from './revocation/denied-tokens.js'
import { GlobalMarkRepository } from './revocation/global-mark.js'
import { SessionRepository } from './sessions/repository.js'
import { UserRepository } from './accounts/users.js'
import { SigningKeyRepository } from './keys/key-store.js'
import { OutboxRepository } from './mail/outbox.js'
import { OneTimeTokenRepository } from './mail/one-time-tokens.js'
import { MfaRepository } from './mfa/mfa-repository.js'
import { AuditRepository } from './audit/audit-repository.js'
import { KnownDeviceRepository } from './audit/known-devices.js'
import { DeliveryRepository } from './webhooks/deliveries.js'
import { EndpointRepository } from './webhooks/endpoints.js'

/**
 * Every table's owner, one repository a concept, assembled here beside the composition root so that
 * database/ knows no concept: a table is written only through the repository named for it.
 */
export interface Repositories {
  users: UserRepository
  sessions: SessionRepository
  clients: ClientRepository
  globalMark: GlobalMarkRepository
  deniedTokens: DeniedTokenRepository
  /** The users table as the Django import reads and writes it. */
  imports: ImportRepository
  /** The keys rotate-key made, sealed. */
  signingKeys: SigningKeyRepository
  /** Mail waiting to be sent. */
  outbox: OutboxRepository
  /** Tokens that reset passwords and verify e-mail addresses. */
  oneTimeTokens: OneTimeTokenRepository
  /** Two-factor secrets, recovery codes and logins waiting for a code. */
  mfa: MfaRepository
  /** The audit trail's rows. */
  audit: AuditRepository
  /** Where each user has logged in from (suspicious-login alerts). */
  knownDevices: KnownDeviceRepository
  /** Webhook receivers and their sealed secrets. */
  webhookEndpoints: EndpointRepository
  /** The webhook outbox and its attempts (its backlog is a metric too). */
  webhookDeliveries: DeliveryRepository
}

/** `recentUserMs`: how long a shown user may be answered from memory (UserRepository.findRecent). */
export function createRepositories(db: Db, options: { recentUserMs?: number } = {}): Repositories {
  return {
    users: new UserRepository(db, options.recentUserMs),
    sessions: new SessionRepository(db),
    clients: new ClientRepository(db),
    globalMark: new GlobalMarkRepository(db),
    deniedTokens: new DeniedTokenRepository(db),
    imports: new ImportRepository(db),
    signingKeys: new SigningKeyRepository(db),
    outbox: new OutboxRepository(db),
    oneTimeTokens: new OneTimeTokenRepository(db),
    mfa: new MfaRepository(db),
    audit: new AuditRepository(db),
    knownDevices: new KnownDeviceRepository(db),
    webhookEndpoints: new EndpointRepository(db),
    webhookDeliveries: new DeliveryRepository(db),
  }
}
