import { eq } from 'drizzle-orm'
import { type ClientRow, clients } from '../../schema/db.js'
import type { Db } from '../database/database.js'

/** Tenants: the seeds call them clients; a user may belong to one. */
export class ClientRepository {
  constructor(private readonly db: Db) {}

  async findOrCreate(name: string): Promise<ClientRow> {
    await this.db.insert(clients).values({ name }).onConflictDoNothing({ target: clients.name })
    const [row] = await this.db.select().from(clients).where(eq(clients.name, name)).limit(1)
    return row!
  }

  async findByName(name: string): Promise<ClientRow | undefined> {
    const [row] = await this.db.select().from(clients).where(eq(clients.name, name)).limit(1)
    return row
  }

  async findById(id: number): Promise<ClientRow | undefined> {
    const [row] = await this.db.select().from(clients).where(eq(clients.id, id)).limit(1)
    return row
  }
}
