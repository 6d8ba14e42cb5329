import { sql } from 'drizzle-orm'
import t from 'tap'
import { eachBackend, makeApp } from '../helpers/backends.js'

/**
 * flush-expired deletes what has expired in short slices (src/database/purge.ts): every expired
 * session and token denial goes, every live one stays, however the two are interleaved and
 * whatever the slice size.
 */
t.test('expired sessions and denials are purged in slices; live ones stay', async (t) => {
  await eachBackend(t, async (t, backend) => {
    const h = await makeApp(t, backend)
    const user = await h.createUser()
    const db = h.app.database.db
    // 5,000 sessions and 3,000 denials; every third one still alive.
    await db.execute(sql`insert into sessions (user_id, refresh_jti, expires_at)
      select ${user.id}, 'r' || g, case when g % 3 = 0 then now() + interval '1 day' else now() - interval '1 minute' end
      from generate_series(1, 5000) g`)
    await db.execute(sql`insert into denied_tokens (jti, expires_at)
      select md5(g::text), case when g % 3 = 0 then now() + interval '1 day' else now() - interval '1 minute' end
      from generate_series(1, 3000) g`)
    const count = async (table: string, live: boolean) => {
      const result = await db.execute(
        sql`select count(*)::int as n from ${sql.raw(table)} where (expires_at > now()) = ${live}`,
      )
      const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as { n: number }[]
      return Number(rows[0]!.n)
    }
    const now = new Date()
    t.equal(
      await h.app.repos.sessions.deleteExpired(now, { batch: 700, pauseMs: 0 }),
      3334,
      'sessions deleted',
    )
    t.equal(
      await h.app.repos.deniedTokens.deleteExpired(now, { batch: 450, pauseMs: 0 }),
      2000,
      'denials deleted',
    )
    t.equal(await count('sessions', false), 0, 'no expired session left')
    t.equal(await count('sessions', true), 1666, 'every live session kept')
    t.equal(await count('denied_tokens', false), 0, 'no expired denial left')
    t.equal(await count('denied_tokens', true), 1000, 'every live denial kept')
    t.equal(await h.app.repos.sessions.deleteExpired(now), 0, 'a second purge finds nothing')
  })
})
