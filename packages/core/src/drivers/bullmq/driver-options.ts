import type { BackendStore } from './store.js'
import { AfterwardError, ErrorCode } from '../../errors.js'
import type { RedisClusterConnection, RedisConnection } from './connection.js'
import { resolvePostgres, type PostgresConnection } from './postgres-schema.js'
import { postgresStore } from './store-postgres.js'
import { redisStore } from './store-redis.js'

/** Options of `bullmq()`: exactly one of `connection` (Redis), `cluster` (Redis Cluster) and `postgres`. */
export interface BullmqDriverOptions {
  /** Redis URL (`redis://127.0.0.1:6379`) or `{ host, port, password, db, tls }`. @defaultValue none */
  connection?: RedisConnection
  /**
   * Redis Cluster: `{ nodes, username, password, tls }`. `prefix` must then carry a hash tag
   * (`{myapp}`), so that each queue's keys share one slot. @defaultValue none
   */
  cluster?: RedisClusterConnection
  /**
   * PostgreSQL URL or `{ connectionString, schema, max, ssl, migrate }`, for BullMQ's PostgreSQL
   * backend. Needs the `pg` package. The schema is created on first use unless `migrate: false`.
   */
  postgres?: PostgresConnection
  /**
   * Prefix of every Redis key (Redis only: on PostgreSQL, `postgres.schema` is the namespace).
   * @defaultValue 'afterward', and '{afterward}' on a cluster
   */
  prefix?: string
  /** Completed jobs kept for inspection. @defaultValue `{ age: 7 days, count: 10_000 }` per queue */
  keepCompleted?: { age?: number; count?: number }
  /** Failed jobs kept for inspection. @defaultValue `{ age: 30 days, count: 100_000 }` per queue */
  keepFailed?: { age?: number; count?: number }
  /** How long the request index (`jobs.byRequest`) is kept, in seconds. @defaultValue 30 days */
  requestIndexTtl?: number
  /**
   * Redis only. A Redis whose `maxmemory-policy` is not `noeviction` may evict jobs when it
   * fills up: a worker logs an error at start when it finds one, and with `requireNoEviction`
   * refuses to start (`AFTERWARD_CONFIG_INVALID`). @defaultValue false
   */
  requireNoEviction?: boolean
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
  const given = (['connection', 'cluster', 'postgres'] as const).filter(
    (name) => options?.[name] !== undefined,
  )
  if (given.length !== 1) {
    throw configError(
      given.length > 1
        ? `pass exactly one of \`connection\` (Redis), \`cluster\` (Redis Cluster) and \`postgres\`, not ${given.map((n) => `\`${n}\``).join(' and ')}.`
        : 'a broker is required: bullmq({ connection: "redis://127.0.0.1:6379" }) for Redis, bullmq({ cluster: { nodes: ["redis://127.0.0.1:7000"] } }) for Redis Cluster, or bullmq({ postgres: "postgres://postgres@127.0.0.1:5432/app" }) for PostgreSQL.',
    )
  }
  const { connection, cluster, postgres, prefix } = options!
  if (postgres !== undefined) {
    if (prefix !== undefined) {
      throw configError('`prefix` is for Redis; on PostgreSQL, set `postgres.schema` instead.')
    }
    return postgresStore(resolvePostgres(postgres), requestIndexTtl)
  }
  if (cluster !== undefined) {
    if (cluster.nodes === undefined || cluster.nodes.length === 0) {
      throw configError(
        '`cluster.nodes` needs at least one startup node, such as bullmq({ cluster: { nodes: ["redis://127.0.0.1:7000"] } }).',
      )
    }
    if (prefix !== undefined && hashTag(prefix) === undefined) {
      const suggestion = `{${prefix.replace(/[{}]/g, '') || 'afterward'}}`
      throw configError(
        `on a Redis Cluster, \`prefix\` must contain a hash tag, such as '${suggestion}', so that all of a queue's keys land in one slot (BullMQ's scripts use several keys at once); got '${prefix}'. Wrap it in braces, or leave it out for the default '{afterward}'.`,
      )
    }
    // Afterward's own keys (request index, queue registry) share the tag, hence the slot: the
    // MULTI that writes several requests' index entries stays within one slot.
    return redisStore({ connection: cluster, prefix: prefix ?? '{afterward}', requestIndexTtl })
  }
  return redisStore({ connection: connection!, prefix: prefix ?? 'afterward', requestIndexTtl })
}

/**
 * The hash tag Redis Cluster would hash a key starting with `prefix` by, or undefined: what lies
 * between the first `{` and the next `}`, if that is not empty. Both braces must be in the
 * prefix, or the slot would depend on the rest of each key.
 */
function hashTag(prefix: string): string | undefined {
  const open = prefix.indexOf('{')
  if (open === -1) return undefined
  const close = prefix.indexOf('}', open + 1)
  return close > open + 1 ? prefix.slice(open + 1, close) : undefined
}
