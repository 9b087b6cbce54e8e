import type * as BullModule from 'bullmq'
import type { Queue, QueueEvents } from 'bullmq'
import type { Redis } from 'ioredis'
import type { Driver, EnqueueResult, JobInfo, JobRecord } from '../../driver.js'
import { AfterwardError, ErrorCode } from '../../errors.js'
import { checkQueueName } from '../../options.js'
import { openRedis, whenReady, type RedisConnection } from './connection.js'
import { BullmqConsumer } from './consumer.js'
import { type BullJobLike, toBullJob, toInfo } from './job-data.js'

/** Options of `bullmq()`. */
export interface BullmqDriverOptions {
  /** Redis URL (`redis://127.0.0.1:6379`) or `{ host, port, password, db, tls }`. */
  connection: RedisConnection
  /** Prefix of every Redis key. @defaultValue 'afterward' */
  prefix?: string
  /** Completed jobs kept for inspection. @defaultValue `{ age: 7 days, count: 10_000 }` per queue */
  keepCompleted?: { age?: number; count?: number }
  /** Failed jobs kept for inspection. @defaultValue `{ age: 30 days, count: 100_000 }` per queue */
  keepFailed?: { age?: number; count?: number }
  /** How long the request index (`jobs.byRequest`) is kept, in seconds. @defaultValue 30 days */
  requestIndexTtl?: number
}

const DAY = 24 * 60 * 60

/**
 * The production driver: BullMQ 6 on Redis. Jobs are durable once `enqueue` resolves, workers
 * on any number of machines may share a queue (at-least-once delivery), and a producer fails
 * fast instead of queueing commands while Redis is down. `bullmq` and `ioredis` are loaded on
 * first use, so apps on `memory()` need neither.
 *
 * For production Redis, set `maxmemory-policy noeviction` and enable persistence (AOF).
 *
 * @example
 * const driver = bullmq({ connection: process.env.REDIS_URL! })
 */
export function bullmq(options: BullmqDriverOptions): Driver {
  if (!options || options.connection === undefined) {
    throw new AfterwardError(
      ErrorCode.CONFIG_INVALID,
      'bullmq(): `connection` is required, e.g. bullmq({ connection: "redis://127.0.0.1:6379" }).',
      {
        retryable: false,
      },
    )
  }
  const prefix = options.prefix ?? 'afterward'
  const keepCompleted = { age: 7 * DAY, count: 10_000, ...options.keepCompleted }
  const keepFailed = { age: 30 * DAY, count: 100_000, ...options.keepFailed }
  const indexTtl = options.requestIndexTtl ?? 30 * DAY
  const queuesKey = `${prefix}:afterward:queues`
  const requestKey = (requestId: string): string => `${prefix}:afterward:request:${requestId}`

  let producer: Promise<Redis> | undefined
  const queues = new Map<string, Promise<Queue>>()
  const events = new Map<string, Promise<QueueEvents>>()
  const consumers = new Set<BullmqConsumer>()
  const knownQueues = new Set<string>()
  const owned: Redis[] = []
  let closed = false

  const bull = (): Promise<typeof BullModule> => import('bullmq')
  let readyWait: Promise<Redis> | undefined
  const redis = async (): Promise<Redis> => {
    producer ??= openRedis(options.connection, 'producer', `${prefix}:producer`).then((client) => {
      client.on('error', () => undefined) // surfaced through the commands that fail
      return client
    })
    const client = await producer
    if (client.status === 'ready') return client
    // Every caller waiting for the same reconnect shares one listener.
    readyWait ??= whenReady(client, 5_000).finally(() => (readyWait = undefined))
    return readyWait
  }

  function queue(name: string): Promise<Queue> {
    checkQueueName(name)
    let created = queues.get(name)
    if (!created) {
      // Memoized as a promise so that concurrent first uses share one Queue.
      created = (async () => {
        const { Queue } = await bull()
        const q = new Queue(name, {
          connection: await redis(),
          prefix,
          defaultJobOptions: { removeOnComplete: keepCompleted, removeOnFail: keepFailed },
        })
        q.on('error', () => undefined) // surfaced through the commands that fail
        return q
      })()
      created.catch(() => queues.delete(name))
      queues.set(name, created)
    }
    return created
  }

  async function remember(names: Iterable<string>): Promise<void> {
    const fresh = [...names].filter((n) => !knownQueues.has(n))
    if (fresh.length === 0) return
    await (await redis()).sadd(queuesKey, ...fresh)
    for (const n of fresh) knownQueues.add(n)
  }

  async function find(id: string, queueNames: Iterable<string>): Promise<JobInfo | undefined> {
    for (const name of queueNames) {
      const q = await queue(name)
      // State first: a job read after a final state is final too, whereas a job read first
      // could pair an earlier attempt count with a state reached later.
      const state = await q.getJobState(id)
      if (state === 'unknown') continue
      const job = (await q.getJob(id)) as BullJobLike | undefined
      if (!job) continue
      const info = toInfo(job, state)
      if (info) return info
    }
    return undefined
  }

  async function allQueues(): Promise<Set<string>> {
    const stored = await (await redis()).smembers(queuesKey)
    return new Set([...knownQueues, ...stored])
  }

  async function queueEvents(name: string): Promise<QueueEvents> {
    let qe = events.get(name)
    if (!qe) {
      qe = (async () => {
        const { QueueEvents } = await bull()
        const connection = await openRedis(options.connection, 'worker', `${prefix}:events`)
        connection.on('error', () => undefined)
        owned.push(connection)
        // Read the stream from its start: an event written between a caller's first look at
        // the job and the first XREAD would otherwise be missed.
        const created = new QueueEvents(name, { connection, prefix, lastEventId: '0-0' })
        created.on('error', () => undefined)
        await created.waitUntilReady()
        return created
      })()
      events.set(name, qe)
    }
    return qe
  }

  const driver: Driver = {
    name: 'bullmq',
    durable: true,

    async enqueue(records: readonly JobRecord[]): Promise<EnqueueResult[]> {
      if (closed) throw new AfterwardError(ErrorCode.CLOSED, 'The bullmq driver is closed.')
      const byQueue = new Map<string, JobRecord[]>()
      for (const r of records)
        byQueue.set(r.options.queue, [...(byQueue.get(r.options.queue) ?? []), r])
      const client = await redis()
      const index = client.multi()
      for (const r of records) {
        if (r.requestId === undefined) continue
        index
          .sadd(requestKey(r.requestId), `${r.options.queue}|${r.id}`)
          .expire(requestKey(r.requestId), indexTtl)
      }
      // Sent together: one round trip per queue's addBulk (a MULTI), the index alongside it.
      const [added] = await Promise.all([
        Promise.all(
          [...byQueue].map(async ([name, group]) => {
            const q = await queue(name)
            // A lone job skips the MULTI that addBulk wraps around its jobs.
            const bullJobs = group.map(toBullJob)
            const only = bullJobs.length === 1 ? bullJobs[0] : undefined
            const jobs = only
              ? [await q.add(only.name, only.data, only.opts)]
              : await q.addBulk(bullJobs)
            return group.map((r, i) => ({ record: r, storedId: jobs[i]?.id }))
          }),
        ),
        index.length > 0 ? index.exec() : undefined,
        remember(byQueue.keys()),
      ])
      const ids = new Map(added.flat().map((a) => [a.record.id, a.storedId]))
      return records.map((r) => {
        const storedId = ids.get(r.id) ?? r.id
        return { id: storedId, deduplicated: storedId !== r.id }
      })
    },

    async get(id) {
      return find(id, await allQueues())
    },

    async byRequest(requestId) {
      const members = await (await redis()).smembers(requestKey(requestId))
      const found = await Promise.all(
        members.map((m) => {
          const at = m.indexOf('|')
          return find(m.slice(at + 1), [m.slice(0, at)])
        }),
      )
      return found
        .filter((j): j is JobInfo => j !== undefined)
        .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
    },

    async waitFor(id, timeoutMs) {
      const first = await driver.get(id)
      if (!first) throw new AfterwardError(ErrorCode.WAIT_TIMEOUT, `No job with id '${id}'.`)
      if (first.state === 'completed' || first.state === 'failed') return first
      const qe = await queueEvents(first.queue)
      return new Promise<JobInfo>((resolve, reject) => {
        let settled = false
        const check = async (): Promise<void> => {
          const now = await find(id, [first.queue])
          if (!settled && now && (now.state === 'completed' || now.state === 'failed')) {
            settled = true
            cleanup()
            resolve(now)
          }
        }
        const onEvent = ({ jobId }: { jobId: string }): void => {
          if (jobId === id) check().catch(fail)
        }
        const fail = (err: unknown): void => {
          if (settled) return
          settled = true
          cleanup()
          reject(err instanceof Error ? err : new Error(String(err)))
        }
        const timer = setTimeout(() => {
          fail(
            new AfterwardError(
              ErrorCode.WAIT_TIMEOUT,
              `Job '${id}' did not finish within ${timeoutMs} ms.`,
            ),
          )
        }, timeoutMs)
        // The events stream is trimmed under heavy load; a slow look now and then makes sure
        // a finished job is never waited on forever.
        const poll = setInterval(() => void check().catch(fail), 1_000)
        const cleanup = (): void => {
          clearTimeout(timer)
          clearInterval(poll)
          qe.off('completed', onEvent)
          qe.off('failed', onEvent)
        }
        qe.on('completed', onEvent)
        qe.on('failed', onEvent)
        // The job may have finished between the first look and the subscription.
        check().catch(fail)
      })
    },

    consume(consumeOptions) {
      const consumer = new BullmqConsumer({
        ...consumeOptions,
        prefix,
        connect: () => openRedis(options.connection, 'worker', `${prefix}:worker`),
        onStart: () => remember(consumeOptions.queues),
        onClosed: () => consumers.delete(consumer),
      })
      consumers.add(consumer)
      return consumer
    },

    async close() {
      if (closed) return
      closed = true
      await Promise.all([...consumers].map((c) => c.close()))
      await Promise.allSettled([...queues.values()].map(async (q) => (await q).close()))
      await Promise.allSettled(
        [...events.values()].map(async (p) => {
          const qe = await p
          await qe.close()
        }),
      )
      await Promise.allSettled(owned.map((c) => c.quit()))
      if (producer) {
        const client = await producer
        await client.quit().catch(() => client.disconnect())
      }
    },
  }
  return driver
}
