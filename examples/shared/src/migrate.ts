// Applies prisma/migrations/*/migration.sql in order, each once, recording them in "_migrations",
// then @afterward/prisma's outbox table (sql/outbox.sql, idempotent) for transactional defers.
// Prisma's migrate engine is not needed (nor always downloadable): the SQL files are the schema.
import { readFileSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The two operations a migration needs, on PGlite or node-postgres alike. */
export interface SqlRunner {
  /** Runs one or more statements. */
  exec(sql: string): Promise<unknown>
  /** Runs one query and returns its rows. */
  rows<T>(sql: string): Promise<T[]>
}

const migrationsDir = fileURLToPath(new URL('../prisma/migrations/', import.meta.url))
/** The file users apply with `psql "$DATABASE_URL" -f node_modules/@afterward/prisma/sql/outbox.sql`. */
const outboxSql = createRequire(import.meta.url).resolve('@afterward/prisma/sql/outbox.sql')

/**
 * Applies the migrations not applied yet; returns their names.
 *
 * @example
 * await migrate({ exec: (sql) => pglite.exec(sql), rows: async (sql) => (await pglite.query(sql)).rows })
 */
export async function migrate(db: SqlRunner): Promise<string[]> {
  await db.exec(
    'CREATE TABLE IF NOT EXISTS "_migrations" ("name" TEXT PRIMARY KEY, "appliedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP)',
  )
  const done = new Set(
    (await db.rows<{ name: string }>('SELECT "name" FROM "_migrations"')).map((r) => r.name),
  )
  const pending = readdirSync(migrationsDir)
    .sort()
    .filter((name) => !done.has(name))
  for (const name of pending) {
    const sql = readFileSync(join(migrationsDir, name, 'migration.sql'), 'utf8')
    // Names are directory names of this repository (0001_init...), safe to inline.
    await db.exec(`BEGIN;\n${sql}\nINSERT INTO "_migrations" ("name") VALUES ('${name}');\nCOMMIT;`)
  }
  await db.exec(readFileSync(outboxSql, 'utf8'))
  return pending
}
