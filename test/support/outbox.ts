// The transactional outbox in tests: its table is created from the SQL file that
// @afterward/prisma ships (the file users apply), on a database made by createTestDatabase.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { createTestDatabase, type TestDatabase } from './pg.js'

const outboxSql = readFileSync(
  fileURLToPath(new URL('../../packages/prisma/sql/outbox.sql', import.meta.url)),
  'utf8',
)

/** Applies packages/prisma/sql/outbox.sql to the database at `url`. */
export async function applyOutboxMigration(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(outboxSql)
  } finally {
    await client.end()
  }
}

/** A fresh test database with the test schema and the outbox table. */
export async function createOutboxDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase()
  try {
    await applyOutboxMigration(db.url)
  } catch (err) {
    await db.drop()
    throw err
  }
  return db
}

/** Rows waiting in the outbox. */
export async function outboxRows(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const { rows } = await client.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM afterward_outbox',
    )
    return rows[0]!.n
  } finally {
    await client.end()
  }
}
