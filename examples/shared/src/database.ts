// The examples' database: PGlite (PostgreSQL compiled to WebAssembly, in-process, data in a
// folder) when DATABASE_URL is unset, a PostgreSQL server otherwise. Same schema, same SQL
// migrations, same generated Prisma client: only the driver adapter differs.
import { mkdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import { PrismaPGlite } from 'pglite-prisma-adapter'
import type * as GeneratedClient from '../prisma/generated/client.js'
import type { PrismaClient } from '../prisma/generated/client.js'
import { migrate } from './migrate.js'
import { SetupError } from './setup-error.js'

export type { PrismaClient }

/** An open database with its Prisma client. */
export interface Database {
  prisma: PrismaClient
  /** Connections the client can use at once (pass it to `prismaContext` as `poolSize`). */
  poolSize: number
  /** For humans: "PGlite (embedded PostgreSQL) in .demo/dev/pgdata". */
  description: string
  close(): Promise<void>
}

/** Connections of the PostgreSQL pool. */
const PG_POOL_SIZE = 10
/** Jobs an example's worker runs at once. */
export const WORKER_CONCURRENCY = 4

/**
 * Opens the database named by `databaseUrl`, or PGlite in `<dataDir>/pgdata`, and applies the
 * migrations not applied yet.
 *
 * @example
 * const db = await openDatabase(settings)
 * await db.prisma.user.count()
 */
export async function openDatabase(settings: {
  databaseUrl: string | undefined
  dataDir: string
}): Promise<Database> {
  const { PrismaClient } = await loadPrismaClient()
  if (settings.databaseUrl !== undefined) {
    const connectionString = settings.databaseUrl
    const client = new pg.Client({ connectionString })
    await client.connect()
    try {
      await migrate({
        exec: (sql) => client.query(sql),
        rows: async (sql) => (await client.query(sql)).rows,
      })
    } finally {
      await client.end()
    }
    const prisma = new PrismaClient({
      adapter: new PrismaPg({ connectionString, max: PG_POOL_SIZE }),
    })
    const host = new URL(connectionString).host
    return {
      prisma,
      poolSize: PG_POOL_SIZE,
      description: `PostgreSQL at ${host}`,
      close: () => prisma.$disconnect(),
    }
  }
  const dir = join(settings.dataDir, 'pgdata')
  mkdirSync(dir, { recursive: true })
  const pglite = await PGlite.create(dir)
  await migrate({
    exec: (sql) => pglite.exec(sql),
    rows: async (sql) => (await pglite.query<never>(sql)).rows,
  })
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) })
  return {
    prisma,
    // PGlite runs one query at a time and queues the rest in process: there is no pool to run
    // out of, so report what the worker uses and keep prismaContext's warning for real pools.
    poolSize: WORKER_CONCURRENCY,
    description: `PGlite (embedded PostgreSQL) in ${relative(process.cwd(), dir) || dir}`,
    async close() {
      await prisma.$disconnect()
      await pglite.close()
    },
  }
}

type GeneratedClientModule = typeof GeneratedClient

/** The generated client, or a message that says how to generate it. */
async function loadPrismaClient(): Promise<GeneratedClientModule> {
  try {
    return await import('../prisma/generated/client.js')
  } catch (err) {
    throw new SetupError(
      'The Prisma client of the examples is not generated (examples/shared/prisma/generated). ' +
        'Run `pnpm generate` at the repository root (it runs on `pnpm install` too); it needs no network. ' +
        `Cause: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    )
  }
}
