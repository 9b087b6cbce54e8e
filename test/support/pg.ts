// PostgreSQL for tests: a fresh database per test file (or test), migrated from
// test/prisma/migrations, and Prisma clients built from the generated test client.
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import { PrismaClient } from '../prisma/generated/client.js'

export { PrismaClient }

/** A connection to the maintenance database, used to create and drop test databases. */
export const adminUrl = process.env.PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

const migrationsDir = fileURLToPath(new URL('../prisma/migrations/', import.meta.url))

/** A database made by {@link createTestDatabase}. */
export interface TestDatabase {
  /** Connection string for the new database. */
  readonly url: string
  readonly name: string
  /** Terminates the database's remaining connections, then drops it. */
  drop(): Promise<void>
}

async function withClient<T>(
  url: string,
  use: (client: pg.Client) => Promise<T>,
  connectionTimeoutMillis = 10_000,
): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis })
  try {
    await client.connect()
    return await use(client)
  } finally {
    await client.end()
  }
}

function urlFor(database: string): string {
  const url = new URL(adminUrl)
  url.pathname = `/${database}`
  return url.toString()
}

/** The SQL of every migration, in directory order (0001_init, 0002_..., ...). */
function migrations(): string[] {
  return readdirSync(migrationsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(migrationsDir, entry.name, 'migration.sql'))
    .filter((file) => existsSync(file))
    .sort()
    .map((file) => readFileSync(file, 'utf8'))
}

/**
 * Creates a fresh database (`aw_<random>` unless named) with every migration applied.
 *
 * @example
 * const db = await createTestDatabase()
 * afterAll(() => db.drop())
 * const prisma = createPrisma(db.url, { applicationName: 'my-test' })
 */
export async function createTestDatabase(name?: string): Promise<TestDatabase> {
  const database = name ?? `aw_${randomBytes(6).toString('hex')}`
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(database)) {
    throw new Error(`invalid test database name ${JSON.stringify(database)}: use [a-z0-9_]`)
  }
  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE "${database}"`))
  const url = urlFor(database)
  const drop = async (): Promise<void> => {
    await withClient(adminUrl, async (client) => {
      await client.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [database],
      )
      await client.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`)
    })
  }
  try {
    await migrateTestDatabase(url)
  } catch (error) {
    await drop()
    throw error
  }
  return { url, name: database, drop }
}

/**
 * Applies every migration to the (empty) database at `url`, as the user in `url`, who then owns
 * the tables: for a database of a private server (test/support/pg-server.ts).
 *
 * @example
 * await migrateTestDatabase('postgres://app@127.0.0.1:54321/app')
 */
export async function migrateTestDatabase(url: string): Promise<void> {
  await withClient(url, async (client) => {
    for (const sql of migrations()) await client.query(sql)
  })
}

/** Options for {@link createPrisma}. */
export interface CreatePrismaOptions {
  /** `application_name` of the client's connections, to find them with {@link connectionsOf}. */
  applicationName?: string
  /** Pool size. @defaultValue 10 (pg's default) */
  max?: number
}

/**
 * A Prisma client for the test schema, on the pg driver adapter.
 *
 * @example
 * const prisma = createPrisma(db.url, { applicationName: 'tx-test', max: 2 })
 * await prisma.user.create({ data: { email: 'a@example.com' } })
 * await prisma.$disconnect()
 */
export function createPrisma(url: string, options: CreatePrismaOptions = {}): PrismaClient {
  const adapter = new PrismaPg({
    connectionString: url,
    max: options.max,
    application_name: options.applicationName,
  })
  return new PrismaClient({ adapter })
}

/** A server process serving a connection, as seen in `pg_stat_activity`. */
export interface ConnectionRow {
  pid: number
  /** `active`, `idle`, `idle in transaction`, ... */
  state: string | null
}

/**
 * The connections whose `application_name` is `applicationName`, in any database.
 *
 * @example
 * expect(await connectionsOf('tx-test')).not.toContainEqual(
 *   expect.objectContaining({ state: 'idle in transaction' }),
 * )
 */
export function connectionsOf(applicationName: string): Promise<ConnectionRow[]> {
  return withClient(adminUrl, async (client) => {
    const result = await client.query<ConnectionRow>(
      'SELECT pid, state FROM pg_stat_activity WHERE application_name = $1 ORDER BY pid',
      [applicationName],
    )
    return result.rows
  })
}

/** Resolves true when PostgreSQL at {@link adminUrl} accepts a connection and runs a query. */
export async function pingPostgres(): Promise<boolean> {
  try {
    await withClient(adminUrl, (client) => client.query('SELECT 1'), 1_000)
    return true
  } catch {
    return false
  }
}
