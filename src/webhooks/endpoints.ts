import { desc, eq, sql } from 'drizzle-orm'
import { webhookEndpoints } from '../../schema/db.js'
import type { Db } from '../database/database.js'

export type EndpointRow = typeof webhookEndpoints.$inferSelect

export interface NewEndpoint {
  url: string
  description: string
  eventTypes: string[]
  createdBy: number | null
}

export type EndpointChange = Partial<Pick<EndpointRow, 'url' | 'description' | 'eventTypes' | 'isActive'>>

/** The webhook_endpoints table. Secrets arrive sealed; this file never sees a plaintext one. */
export class EndpointRepository {
  constructor(private readonly db: Db) {}

  /**
   * Inserts an endpoint and its sealed secret. The secret is sealed with the row's id, known only
   * once the row exists: both writes are one transaction, so no row is ever seen without it.
   */
  async create(endpoint: NewEndpoint, sealFor: (id: number) => string): Promise<EndpointRow> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx
        .insert(webhookEndpoints)
        .values({ ...endpoint, sealedSecret: '' })
        .returning({ id: webhookEndpoints.id })
      const [sealed] = await tx
        .update(webhookEndpoints)
        .set({ sealedSecret: sealFor(row!.id) })
        .where(eq(webhookEndpoints.id, row!.id))
        .returning()
      return sealed!
    })
  }

  async list(limit: number, offset: number): Promise<{ count: number; rows: EndpointRow[] }> {
    const [total] = await this.db.select({ n: sql<number>`count(*)::int` }).from(webhookEndpoints)
    const rows = await this.db
      .select()
      .from(webhookEndpoints)
      .orderBy(desc(webhookEndpoints.id))
      .limit(limit)
      .offset(offset)
    return { count: total?.n ?? 0, rows }
  }

  async find(id: number): Promise<EndpointRow | undefined> {
    const [row] = await this.db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id))
    return row
  }

  async update(id: number, change: EndpointChange): Promise<EndpointRow | undefined> {
    return this.set(id, change)
  }

  async setSealedSecret(id: number, sealedSecret: string): Promise<EndpointRow | undefined> {
    return this.set(id, { sealedSecret })
  }

  /** Deletes the endpoint with its deliveries and their attempts (the foreign keys cascade). */
  async remove(id: number): Promise<boolean> {
    const gone = await this.db
      .delete(webhookEndpoints)
      .where(eq(webhookEndpoints.id, id))
      .returning({ id: webhookEndpoints.id })
    return gone.length > 0
  }

  private async set(id: number, values: Partial<EndpointRow>): Promise<EndpointRow | undefined> {
    const [row] = await this.db
      .update(webhookEndpoints)
      .set({ ...values, updatedAt: new Date() })
      .where(eq(webhookEndpoints.id, id))
      .returning()
    return row
  }
}
