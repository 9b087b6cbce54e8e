import type { Pool } from 'pg'
import type { JobRecord } from '../../driver.js'
import type { BackendStore, BullBinding, RequestMember } from './store.js'
import { AfterwardError, ErrorCode } from '../../errors.js'
import { pgConfig, prepareSchema, type ResolvedPostgres } from './postgres-schema.js'
import { postgresLimiter } from './limiter-postgres.js'

/** BullMQ's errors for a schema it cannot use: a configuration problem, not an outage. */
const SCHEMA_ERRORS = new Set([
  'SchemaMigrationRequiredError',
  'SchemaVersionMismatchError',
  'UnsupportedPostgresVersionError',
])

const HOUR_MS = 60 * 60 * 1_000
/** First key of the schedule advisory locks; the second is a hash of the schema's name. */
const SCHEDULE_LOCK_CLASS = 0x4157_5343 // 'AWSC'

/** A failure of the database itself (SQLSTATE), rather than of the way to it. */
function isSqlError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code
  // Class 08 (connection exception) and 57P (operator intervention, e.g. a restart) are outages.
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !/^(08|57P)/.test(code)
}

function unavailable(err: unknown): AfterwardError {
  const why = err instanceof Error ? err.message || (err as { code?: string }).code : String(err)
  return new AfterwardError(
    ErrorCode.BROKER_UNAVAILABLE,
    `PostgreSQL is not reachable (${why}). Check the connection string and that PostgreSQL is running.`,
    { cause: err },
  )
}

function toStoreError(err: unknown): unknown {
  if (err instanceof AfterwardError || isSqlError(err)) return err
  if (err instanceof Error && SCHEMA_ERRORS.has(err.name)) {
    const fix =
      err.name === 'SchemaMigrationRequiredError'
        ? ' Run migrateBullmqPostgres() at deploy time, or leave postgres.migrate on.'
        : ''
    return new AfterwardError(ErrorCode.CONFIG_INVALID, `${err.message}${fix}`, {
      cause: err,
      retryable: false,
    })
  }
  return unavailable(err)
}

/**
 * The PostgreSQL side of `bullmq()`: readiness (connect, then migrate unless disabled), the
 * request index and the queue registry as two tables in the BullMQ schema. BullMQ's own
 * classes get a pool config and build (and close) their pools themselves.
 */
export function postgresStore(pg: ResolvedPostgres, requestIndexTtl: number): BackendStore {
  const requestTable = `${pg.quoted}.afterward_request_jobs`
  const queuesTable = `${pg.quoted}.afterward_queues`
  const generationsTable = `${pg.quoted}.afterward_schedule_generations`
  const runsTable = `${pg.quoted}.afterward_schedule_runs`
  // Advisory lock keys of this schema's schedules (pg_advisory_lock takes two int4 keys).
  const lockKeys = [SCHEDULE_LOCK_CLASS, `${pg.schema}:schedules`]
  const generationKeys = [SCHEDULE_LOCK_CLASS, `${pg.schema}:schedule-generations`]
  const knownQueues = new Set<string>()
  let pool: Pool | undefined
  let ready: Promise<void> | undefined
  let lastPrune = 0

  async function open(): Promise<Pool> {
    if (pool) return pool
    const pgModule = await import('pg').catch((err: unknown) => {
      throw new AfterwardError(
        ErrorCode.CONFIG_INVALID,
        "bullmq({ postgres }) needs the 'pg' package: install it next to bullmq (npm install pg).",
        { cause: err, retryable: false },
      )
    })
    pool ??= new pgModule.default.Pool({
      ...pgConfig(pg),
      // At least 2: a schedule reconcile holds one connection for its lock and queries on another.
      max: Math.max(2, Math.min(pg.max, 4)),
      application_name: 'afterward',
    })
    pool.on('error', () => undefined) // an idle connection dropped; the next query reconnects
    return pool
  }

  function connect(): Promise<void> {
    ready ??= (async () => {
      const client = await (await open()).connect()
      try {
        await prepareSchema(client, pg)
      } finally {
        client.release()
      }
    })().catch((err: unknown) => {
      ready = undefined // try again on the next call: PostgreSQL may be back
      throw toStoreError(err)
    })
    return ready
  }

  async function query<R>(text: string, params: unknown[]): Promise<R[]> {
    await connect()
    try {
      return (await pool!.query<R & object>(text, params)).rows
    } catch (err) {
      throw toStoreError(err)
    }
  }

  /** Drops index entries past their TTL, at most once an hour per process. */
  function prune(): void {
    if (Date.now() - lastPrune < HOUR_MS) return
    lastPrune = Date.now()
    const sql = `DELETE FROM ${requestTable} WHERE created_at < now() - make_interval(secs => $1)`
    query(sql, [requestIndexTtl]).catch(() => (lastPrune = 0))
  }

  const binding = async (): Promise<BullBinding> => {
    await connect()
    const { createPostgresBackend } = await import('bullmq')
    return {
      // BullMQ builds a pool from this (and a LISTEN client for workers and events), and its
      // Queue, Worker or QueueEvents closes them; the schema is applied through search_path.
      connection: { ...pgConfig(pg), max: pg.max, schema: pg.schema },
      backend: createPostgresBackend,
      release: async () => undefined,
    }
  }

  return {
    label: 'PostgreSQL',
    limiter: postgresLimiter((text, params) => query(text, params), pg.quoted),
    firstEventId: '0',
    prefix: undefined,
    connect,
    producer: binding,
    dedicated: binding,

    async recordRequest(records: readonly JobRecord[]) {
      const indexed = records.filter((r) => r.requestId !== undefined)
      if (indexed.length === 0) return
      await query(
        `INSERT INTO ${requestTable} (request_id, queue, job_id)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING`,
        [
          indexed.map((r) => r.requestId),
          indexed.map((r) => r.options.queue),
          indexed.map((r) => r.id),
        ],
      )
      prune()
    },

    async requestMembers(requestId): Promise<RequestMember[]> {
      return query<RequestMember>(
        `SELECT queue, job_id AS id FROM ${requestTable} WHERE request_id = $1`,
        [requestId],
      )
    },

    async rememberQueues(names) {
      const fresh = names.filter((n) => !knownQueues.has(n))
      if (fresh.length === 0) return
      await query(
        `INSERT INTO ${queuesTable} (name) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`,
        [fresh],
      )
      for (const n of fresh) knownQueues.add(n)
    },

    async queues() {
      const rows = await query<{ name: string }>(`SELECT name FROM ${queuesTable}`, [])
      return [...new Set([...knownQueues, ...rows.map((r) => r.name)])]
    },

    async scheduleGeneration(fingerprint, force) {
      await connect()
      const client = await pool!.connect().catch((err: unknown) => {
        throw toStoreError(err)
      })
      try {
        await client.query('BEGIN')
        await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', generationKeys)
        const { rows } = await client.query<{ fingerprint: string; generation: number }>(
          `SELECT fingerprint, generation FROM ${generationsTable}
           WHERE fingerprint = $1 OR generation = (SELECT max(generation) FROM ${generationsTable})`,
          [fingerprint],
        )
        let newest = Math.max(0, ...rows.map((r) => r.generation))
        let mine = rows.find((r) => r.fingerprint === fingerprint)?.generation ?? 0
        if (mine === 0 || (force && mine < newest)) {
          mine = ++newest
          await client.query(
            `INSERT INTO ${generationsTable} (fingerprint, generation) VALUES ($1, $2)
             ON CONFLICT (fingerprint) DO UPDATE SET generation = excluded.generation`,
            [fingerprint, mine],
          )
        }
        await client.query('COMMIT')
        return { generation: mine, newest }
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined)
        throw toStoreError(err)
      } finally {
        client.release()
      }
    },

    async scheduleLock(fn) {
      await connect()
      // A session lock on a connection of its own, held while BullMQ's queues do the work.
      const client = await pool!.connect().catch((err: unknown) => {
        throw toStoreError(err)
      })
      try {
        await client.query('SELECT pg_advisory_lock($1, hashtext($2))', lockKeys)
        try {
          return await fn()
        } finally {
          await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', lockKeys)
        }
      } finally {
        client.release()
      }
    },

    async recordRun(slot, jobId) {
      await query(
        `INSERT INTO ${runsTable} (slot, job_id) VALUES ($1, $2)
         ON CONFLICT (slot) DO UPDATE SET job_id = excluded.job_id`,
        [slot, jobId],
      )
    },

    async lastRuns(slots) {
      if (slots.length === 0) return []
      const rows = await query<{ slot: string; job_id: string }>(
        `SELECT slot, job_id FROM ${runsTable} WHERE slot = ANY($1::text[])`,
        [slots],
      )
      const bySlot = new Map(rows.map((r) => [r.slot, r.job_id]))
      return slots.map((slot) => bySlot.get(slot))
    },

    async close() {
      const open = pool
      pool = undefined
      ready = undefined
      await open?.end().catch(() => undefined)
    },
  }
}
