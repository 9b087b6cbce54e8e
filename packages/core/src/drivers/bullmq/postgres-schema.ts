// PostgreSQL options of bullmq() and the schema it needs: BullMQ's tables (BullMQ's migrator)
// and Afterward's own tables (request index, queue names, task limits), all in one schema.
import { AfterwardError, ErrorCode } from '../../errors.js'
import { limitTables } from './limiter-postgres.js'

/**
 * PostgreSQL connection of `bullmq()`: a URL (`postgres://user@host:5432/db`) or options.
 * Typed structurally: no `pg` or BullMQ type is part of Afterward's API.
 */
export type PostgresConnection =
  | string
  | {
      /** `postgres://user:password@host:5432/database` */
      connectionString: string
      /** Schema holding BullMQ's tables and Afterward's request index. @defaultValue 'bullmq' */
      schema?: string
      /** Size of each pool (one per BullMQ queue, worker and event listener). @defaultValue 10 */
      max?: number
      /** TLS: `true`, or options passed to `tls.connect`. @defaultValue off */
      ssl?: boolean | Record<string, unknown>
      /**
       * Create or upgrade the schema on first use (serialized across processes by BullMQ's
       * advisory lock). With `false`, run {@link migrateBullmqPostgres} at deploy time.
       * @defaultValue true
       */
      migrate?: boolean
    }

/** A {@link PostgresConnection} with its defaults applied. */
export interface ResolvedPostgres {
  connectionString: string
  schema: string
  max: number
  ssl: boolean | Record<string, unknown> | undefined
  migrate: boolean
  /** The schema, double-quoted for SQL. */
  quoted: string
}

/** Time allowed to open a connection: a producer must fail before `enqueueTimeout`. */
export const CONNECT_TIMEOUT_MS = 2_000

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/

/** Applies defaults and checks the options up front, with messages that say how to fix them. */
export function resolvePostgres(connection: PostgresConnection): ResolvedPostgres {
  const given = typeof connection === 'string' ? { connectionString: connection } : connection
  const invalid = (why: string): AfterwardError =>
    new AfterwardError(ErrorCode.CONFIG_INVALID, `bullmq(): ${why}`, { retryable: false })
  if (typeof given?.connectionString !== 'string' || given.connectionString === '') {
    throw invalid(
      '`postgres` needs a connection string, e.g. bullmq({ postgres: "postgres://postgres@127.0.0.1:5432/app" }).',
    )
  }
  const schema = given.schema ?? 'bullmq'
  if (!SCHEMA_NAME.test(schema)) {
    throw invalid(
      `postgres.schema ${JSON.stringify(schema)} is not a plain identifier ([A-Za-z0-9_]).`,
    )
  }
  const max = given.max ?? 10
  if (!Number.isInteger(max) || max < 1) throw invalid('postgres.max must be a positive integer.')
  return {
    connectionString: given.connectionString,
    schema,
    max,
    ssl: given.ssl,
    migrate: given.migrate ?? true,
    quoted: `"${schema}"`,
  }
}

/** The slice of a node-postgres client used here (typed structurally: `pg` is optional). */
export interface PgSession {
  query<R = unknown>(text: string, params?: unknown[]): Promise<{ rows: R[] }>
}

/** node-postgres settings shared by Afterward's pool and BullMQ's. */
export function pgConfig(pg: ResolvedPostgres): Record<string, unknown> {
  return {
    connectionString: pg.connectionString,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    ...(pg.ssl === undefined ? {} : { ssl: pg.ssl }),
  }
}

/** Afterward's tables. Idempotent; run under the advisory lock BullMQ's migrator uses. */
function afterwardTables(quoted: string): string {
  return `
    CREATE TABLE IF NOT EXISTS ${quoted}.afterward_request_jobs (
      request_id text NOT NULL,
      queue text NOT NULL,
      job_id text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (request_id, job_id)
    );
    CREATE INDEX IF NOT EXISTS afterward_request_jobs_created_at
      ON ${quoted}.afterward_request_jobs (created_at);
    CREATE TABLE IF NOT EXISTS ${quoted}.afterward_queues (name text PRIMARY KEY);
    ${limitTables(quoted)}
    CREATE TABLE IF NOT EXISTS ${quoted}.afterward_schedule_generations (
      fingerprint text PRIMARY KEY,
      generation integer NOT NULL
    );
    CREATE TABLE IF NOT EXISTS ${quoted}.afterward_schedule_runs (
      slot text PRIMARY KEY,
      job_id text NOT NULL
    );`
}

/**
 * Brings the schema up to date on one session: BullMQ's migrations, then Afterward's tables in
 * a transaction holding the same advisory lock, so that concurrent starters wait for the first.
 * With `migrate: false` it only checks that both are there.
 */
export async function prepareSchema(client: PgSession, pg: ResolvedPostgres): Promise<void> {
  const bull = await import('bullmq')
  if (!pg.migrate) {
    await bull.assertSchemaCompatibility(client, pg.schema)
    const { rows } = await client.query<{ table: string | null }>(
      'SELECT to_regclass($1)::text AS table',
      [`${pg.quoted}.afterward_request_jobs`],
    )
    if (!rows[0]?.table) {
      throw new AfterwardError(
        ErrorCode.CONFIG_INVALID,
        `Afterward's tables are missing from PostgreSQL schema ${pg.quoted}: run migrateBullmqPostgres() or set postgres.migrate to true.`,
        { retryable: false },
      )
    }
    return
  }
  await bull.runMigrations(client, pg.schema)
  await client.query('BEGIN')
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [
      bull.MIGRATION_ADVISORY_LOCK_KEY,
      pg.schema,
    ])
    await client.query(afterwardTables(pg.quoted))
    await client.query('COMMIT')
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw error
  }
}

/**
 * Creates or upgrades the PostgreSQL schema of `bullmq({ postgres })`: BullMQ's tables and
 * Afterward's request index. Safe to run from many processes at once. Needed only when the
 * driver runs with `migrate: false` (e.g. when the app's database role may not run DDL).
 *
 * @example
 * // deploy step, with a role that may create tables
 * await migrateBullmqPostgres({ connectionString: process.env.DATABASE_URL!, schema: 'jobs' })
 */
export async function migrateBullmqPostgres(connection: PostgresConnection): Promise<void> {
  const pg = resolvePostgres(connection)
  const { default: pgModule } = await import('pg')
  const client = new pgModule.Client(pgConfig(pg))
  await client.connect()
  try {
    await prepareSchema(client, { ...pg, migrate: true })
  } finally {
    await client.end()
  }
}
