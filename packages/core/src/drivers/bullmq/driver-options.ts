import type { BackendStore } from './store.js'
import { AfterwardError, ErrorCode } from '../../errors.js'
import type { RedisConnection } from './connection.js'
import { resolvePostgres, type PostgresConnection } from './postgres-schema.js'
import { postgresStore } from './store-postgres.js'
import { redisStore } from './store-redis.js'

/** Options of `bullmq()`: exactly one of `connection` (Redis) and `postgres`. */
export interface BullmqDriverOptions {
  /** Redis URL (`redis://127.0.0.1:6379`) or `{ host, port, password, db, tls }`. */
  connection?: RedisConnection
  /**
   * PostgreSQL URL or `{ connectionString, schema, max, ssl, migrate }`, for BullMQ's PostgreSQL
   * backend. Needs the `pg` package. The schema is created on first use unless `migrate: false`.
   */
  postgres?: PostgresConnection
  /** Prefix of every Redis key (Redis only: on PostgreSQL, `postgres.schema` is the namespace). @defaultValue 'afterward' */
  prefix?: string
  /** Completed jobs kept for inspection. @defaultValue `{ age: 7 days, count: 10_000 }` per queue */
  keepCompleted?: { age?: number; count?: number }
  /** Failed jobs kept for inspection. @defaultValue `{ age: 30 days, count: 100_000 }` per queue */
  keepFailed?: { age?: number; count?: number }
  /** How long the request index (`jobs.byRequest`) is kept, in seconds. @defaultValue 30 days */
  requestIndexTtl?: number
}

export const DAY = 24 * 60 * 60

function configError(message: string): AfterwardError {
  return new AfterwardError(ErrorCode.CONFIG_INVALID, `bullmq(): ${message}`, { retryable: false })
}

/** Picks the backend; checks the options up front. */
export function storeFor(
  options: BullmqDriverOptions | undefined,
  requestIndexTtl: number,
): BackendStore {
  const redis = options?.connection !== undefined
  const postgres = options?.postgres !== undefined
  if (redis === postgres) {
    throw configError(
      redis
        ? 'pass either `connection` (Redis) or `postgres`, not both.'
        : 'a broker is required: bullmq({ connection: "redis://127.0.0.1:6379" }) for Redis, or bullmq({ postgres: "postgres://postgres@127.0.0.1:5432/app" }) for PostgreSQL.',
    )
  }
  if (postgres) {
    if (options.prefix !== undefined) {
      throw configError('`prefix` is for Redis; on PostgreSQL, set `postgres.schema` instead.')
    }
    return postgresStore(resolvePostgres(options.postgres!), requestIndexTtl)
  }
  const prefix = options!.prefix ?? 'afterward'
  return redisStore({ connection: options!.connection!, prefix, requestIndexTtl })
}
