import type { Redis, RedisOptions } from 'ioredis'
import { AfterwardError, ErrorCode } from '../../errors.js'

/** Redis connection: a URL (`redis://host:6379/0`) or host/port options. */
export type RedisConnection =
  | string
  | {
      host?: string
      port?: number
      username?: string
      password?: string
      db?: number
      /** TLS options, passed to `tls.connect`; `{}` turns TLS on with defaults. */
      tls?: Record<string, unknown>
    }

/**
 * Opens an ioredis client. Producers fail fast (no offline queue: a command while Redis is
 * down rejects at once instead of hanging); blocking/worker clients retry forever, as BullMQ
 * requires, and reconnect when Redis comes back.
 */
export async function openRedis(
  connection: RedisConnection,
  role: 'producer' | 'worker',
  name: string,
): Promise<Redis> {
  const { Redis } = await import('ioredis')
  const options: RedisOptions = {
    connectionName: name,
    retryStrategy: (times) => Math.min(100 * times, 2_000),
    ...(role === 'producer'
      ? {
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          connectTimeout: 2_000,
          // Commands issued in the same tick (the jobs and indexes of concurrent requests) go to
          // Redis in one write: fewer syscalls on both sides than one write per request.
          enableAutoPipelining: true,
        }
      : { maxRetriesPerRequest: null }),
  }
  const client =
    typeof connection === 'string'
      ? new Redis(connection, options)
      : new Redis({ ...connection, ...options } as RedisOptions)
  return client
}

/**
 * Resolves when the client is ready. A producer has no offline queue, so a command sent before
 * the connection is up would fail: wait for it, but no longer than `ms`.
 */
export async function whenReady(client: Redis, ms: number): Promise<Redis> {
  if (client.status === 'ready') return client
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady)
      reject(
        new AfterwardError(
          ErrorCode.BROKER_UNAVAILABLE,
          `Redis is not reachable (connection ${client.status} after ${ms} ms). Check REDIS_URL and that Redis is running.`,
        ),
      )
    }, ms)
    const onReady = (): void => {
      clearTimeout(timer)
      resolve()
    }
    client.once('ready', onReady)
  })
  return client
}
