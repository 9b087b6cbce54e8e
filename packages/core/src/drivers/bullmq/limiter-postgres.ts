// Task limits on PostgreSQL: the same design as on Redis (limiter-redis.ts) with rows instead of
// sorted sets, in one function call per job (one round trip, one transaction). A transaction-
// scoped advisory lock per key (concurrency key first, then rate key: one order, no deadlock)
// serializes the check-and-take of one key across every worker, and leaves other keys alone;
// under READ COMMITTED each statement after the lock sees what the previous holder committed.
// Rows carry when they stop mattering (`expires_at`), so idle keys are pruned in bulk.
import type { LimitDecision, LimitRequest, Limiter } from '../../driver.js'
import { AfterwardError, ErrorCode } from '../../errors.js'

/** The tables and function, created with Afterward's other tables (postgres-schema.ts). */
export function limitTables(quoted: string): string {
  const slots = `${quoted}.afterward_limit_slots`
  const starts = `${quoted}.afterward_limit_starts`
  return `
    CREATE TABLE IF NOT EXISTS ${slots} (
      limit_key text NOT NULL,
      job_id text NOT NULL,
      expires_at bigint NOT NULL,
      PRIMARY KEY (limit_key, job_id)
    );
    CREATE TABLE IF NOT EXISTS ${starts} (
      limit_key text NOT NULL,
      started_at bigint NOT NULL,
      expires_at bigint NOT NULL,
      job_id text NOT NULL
    );
    CREATE INDEX IF NOT EXISTS afterward_limit_starts_key ON ${starts} (limit_key, started_at);
    CREATE INDEX IF NOT EXISTS afterward_limit_starts_expires ON ${starts} (expires_at);
    CREATE OR REPLACE FUNCTION ${quoted}.afterward_limit_acquire(
      p_job text, p_slots_key text, p_slots integer, p_lease bigint,
      p_rate_key text, p_max integer, p_per bigint
    ) RETURNS TABLE (granted boolean, retry_in bigint, now_ms bigint)
    LANGUAGE plpgsql AS $fn$
    DECLARE
      v_now bigint := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
      v_count integer;
      v_oldest bigint;
    BEGIN
      IF p_slots > 0 THEN
        PERFORM pg_advisory_xact_lock(hashtext('afterward:limit:c:' || p_slots_key));
        DELETE FROM ${slots} WHERE limit_key = p_slots_key AND expires_at <= v_now;
        IF NOT EXISTS (SELECT 1 FROM ${slots} WHERE limit_key = p_slots_key AND job_id = p_job)
           AND (SELECT count(*) FROM ${slots} WHERE limit_key = p_slots_key) >= p_slots THEN
          RETURN QUERY SELECT false, -1::bigint, v_now;
          RETURN;
        END IF;
      END IF;
      IF p_max > 0 THEN
        PERFORM pg_advisory_xact_lock(hashtext('afterward:limit:r:' || p_rate_key));
        -- Read the clock again: the lock may have been waited for.
        v_now := (extract(epoch FROM clock_timestamp()) * 1000)::bigint;
        SELECT count(*), min(started_at) INTO v_count, v_oldest FROM ${starts}
         WHERE limit_key = p_rate_key AND started_at > v_now - p_per;
        IF v_count >= p_max THEN
          RETURN QUERY SELECT false, v_oldest + p_per - v_now, v_now;
          RETURN;
        END IF;
        DELETE FROM ${starts} WHERE limit_key = p_rate_key AND started_at <= v_now - p_per;
        INSERT INTO ${starts} VALUES (p_rate_key, v_now, v_now + p_per, p_job);
      END IF;
      IF p_slots > 0 THEN
        INSERT INTO ${slots} VALUES (p_slots_key, p_job, v_now + p_lease)
          ON CONFLICT (limit_key, job_id) DO UPDATE SET expires_at = EXCLUDED.expires_at;
      END IF;
      RETURN QUERY SELECT true, 0::bigint, v_now;
    END
    $fn$;`
}

type Query = <R>(text: string, params: unknown[]) => Promise<R[]>

const PRUNE_EVERY_MS = 60_000

/**
 * A schema migrated before limits existed, with `migrate: false`: the job is held (and the
 * worker logs this) until the tables are there, rather than run without its limits.
 */
function missingSchema(err: unknown, quoted: string): AfterwardError | undefined {
  const code = (err as { code?: unknown } | undefined)?.code
  if (code !== '42883' && code !== '42P01') return undefined
  return new AfterwardError(
    ErrorCode.CONFIG_INVALID,
    `The task limit tables are missing from PostgreSQL schema ${quoted}: run migrateBullmqPostgres() (or set postgres.migrate to true) once after upgrading.`,
    { cause: err, retryable: true },
  )
}

export function postgresLimiter(query: Query, quoted: string): Limiter {
  const slots = `${quoted}.afterward_limit_slots`
  const starts = `${quoted}.afterward_limit_starts`
  let lastPrune = Date.now()

  /** Rows of keys no job asked about since they expired, at most once a minute per process. */
  function prune(): void {
    if (Date.now() - lastPrune < PRUNE_EVERY_MS) return
    lastPrune = Date.now()
    const now = '(extract(epoch FROM clock_timestamp()) * 1000)::bigint'
    void Promise.all([
      query(`DELETE FROM ${slots} WHERE expires_at <= ${now}`, []),
      query(`DELETE FROM ${starts} WHERE expires_at <= ${now}`, []),
    ]).catch(() => (lastPrune = 0))
  }

  return {
    async acquire({ jobId, concurrency, rate }: LimitRequest): Promise<LimitDecision> {
      const [row] = await query<{ granted: boolean; retry_in: string; now_ms: string }>(
        `SELECT * FROM ${quoted}.afterward_limit_acquire($1, $2, $3, $4, $5, $6, $7)`,
        [
          jobId,
          concurrency?.key ?? '',
          concurrency?.max ?? 0,
          concurrency?.lease ?? 0,
          rate?.key ?? '',
          rate?.max ?? 0,
          rate?.per ?? 0,
        ],
      ).catch((err: unknown) => {
        throw missingSchema(err, quoted) ?? err
      })
      prune()
      const retryIn = Number(row!.retry_in)
      if (!row!.granted) return { granted: false, retryIn: retryIn < 0 ? undefined : retryIn }
      return {
        granted: true,
        startedAt: Number(row!.now_ms),
        async renew() {
          if (!concurrency) return
          await query(
            `UPDATE ${slots} SET expires_at = (extract(epoch FROM clock_timestamp()) * 1000)::bigint + $3
              WHERE limit_key = $1 AND job_id = $2`,
            [concurrency.key, jobId, concurrency.lease],
          )
        },
        async release() {
          if (!concurrency) return
          await query(`DELETE FROM ${slots} WHERE limit_key = $1 AND job_id = $2`, [
            concurrency.key,
            jobId,
          ])
        },
      }
    },
  }
}
