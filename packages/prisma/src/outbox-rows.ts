// The outbox table as Afterward reads and writes it: the SQL, and rows turned into job records
// (for the relay) and into `pending` jobs (for inspection). Every statement names the table
// unqualified, so it lives in the connection's search_path, where sql/outbox.sql created it.
import { AfterwardError, ErrorCode, type JobInfo, type JobRecord } from '@afterward/core'

/** The table (and the NOTIFY channel) that sql/outbox.sql creates. */
export const OUTBOX_TABLE = 'afterward_outbox'

/** How to create the table; every error about a missing table says it. */
export const MIGRATION_COMMAND =
  'psql "$DATABASE_URL" -f node_modules/@afterward/prisma/sql/outbox.sql'

/** One statement for any number of records: they travel as one JSON array. */
export const INSERT_SQL = `INSERT INTO "${OUTBOX_TABLE}" ("id", "task", "queue", "request_id", "record")
SELECT r->>'id', r->>'task', r->'options'->>'queue', r->>'requestId', r
FROM jsonb_array_elements($1::jsonb) AS r`

/** The oldest rows no other relay holds, locked until the relay's transaction ends. */
export const CLAIM_SQL = `SELECT "record" FROM "${OUTBOX_TABLE}"
ORDER BY "created_at", "id" LIMIT $1 FOR UPDATE SKIP LOCKED`

export const DELETE_SQL = `DELETE FROM "${OUTBOX_TABLE}"
WHERE "id" IN (SELECT jsonb_array_elements_text($1::jsonb))`

export const LAG_SQL = `SELECT count(*)::int AS "waiting",
COALESCE(EXTRACT(EPOCH FROM (clock_timestamp() - min("created_at"))) * 1000, 0)::float8 AS "oldestMs"
FROM "${OUTBOX_TABLE}"`

export const GET_SQL = `SELECT "record" FROM "${OUTBOX_TABLE}" WHERE "id" = $1`

export const BY_REQUEST_SQL = `SELECT "record" FROM "${OUTBOX_TABLE}" WHERE "request_id" = $1`

/** A row's `record` column: a `JobRecord` as JSON (undefined fields left out). */
export type StoredRecord = Omit<JobRecord, 'requestId' | 'trace'> & {
  requestId?: string
  trace?: Record<string, string>
}

/**
 * The record to hand to the broker, as it was deferred. Its `delay` needs no correction for the
 * time spent in the outbox: drivers count a delay from the record's `createdAt` (the defer).
 */
export function recordFromRow(stored: StoredRecord): JobRecord {
  const { options } = stored
  return {
    id: stored.id,
    task: stored.task,
    input: stored.input,
    requestId: stored.requestId,
    createdAt: stored.createdAt,
    trace: stored.trace,
    options: {
      ...options,
      timeout: options.timeout ?? undefined,
      key: options.key ?? undefined,
    },
  }
}

/** A row still in the outbox, as `jobs.get` reports it. */
export function pendingJob(stored: StoredRecord): JobInfo {
  return {
    id: stored.id,
    task: stored.task,
    queue: stored.options.queue,
    state: 'pending',
    input: stored.input,
    requestId: stored.requestId,
    key: stored.options.key ?? undefined,
    attemptsMade: 0,
    maxAttempts: stored.options.attempts,
    lastError: undefined,
    createdAt: new Date(stored.createdAt),
    startedAt: undefined,
    finishedAt: undefined,
  }
}

/**
 * The error to throw for a failed outbox statement: a missing table says how to create it;
 * anything else is returned unchanged.
 */
export function outboxError(err: unknown, doing: string): unknown {
  const text = `${err instanceof Error ? err.message : String(err)} ${JSON.stringify((err as { meta?: unknown })?.meta ?? '')}`
  if (text.includes('42P01') || new RegExp(`${OUTBOX_TABLE}.{0,4} does not exist`).test(text)) {
    return new AfterwardError(
      ErrorCode.CONFIG_INVALID,
      `${doing}: the table "${OUTBOX_TABLE}" does not exist in this database (or not in its search_path). Create it once with: ${MIGRATION_COMMAND}`,
      { cause: err },
    )
  }
  return err
}
