import type * as BullModule from 'bullmq'
import type { Queue, QueueEvents, QueueEventsOptions, QueueOptions } from 'bullmq'
import type { Driver, EnqueueResult, GiveUpSignal, JobInfo, JobRecord } from '../../driver.js'
import { jobNotFound, notRemovable, notRetryable } from '../error-info.js'
import type { BullBinding } from './store.js'
import { AfterwardError, ErrorCode } from '../../errors.js'
import { checkQueueName } from '../../options.js'
import { BullmqConsumer } from './consumer.js'
import { countJobs, listJobs } from './listing.js'
import { type BullJobLike, toBullJob, toDetail, toInfo } from './job-data.js'
import { DAY, storeFor, type BullmqDriverOptions } from './driver-options.js'
import { waitFinished } from './wait-finished.js'
import { bullmqScheduler } from './scheduler.js'

export type { BullmqDriverOptions } from './driver-options.js'

/** BullMQ's constructors, loosely typed at the one place where a binding meets their overloads. */
type QueueClass = new (
  name: string,
  opts: Omit<QueueOptions, 'connection'> & { connection: unknown },
  backend: unknown,
) => Queue
type QueueEventsClass = new (
  name: string,
  opts: Omit<QueueEventsOptions, 'connection'> & { connection: unknown },
  backend: unknown,
) => QueueEvents

/**
 * The production driver: BullMQ 6 on Redis (one server or a cluster) or on PostgreSQL (BullMQ's
 * PostgreSQL backend), with the same semantics on all. Jobs are durable once `enqueue` resolves, workers on any number
 * of machines may share a queue (at-least-once delivery), and a producer fails fast instead of
 * queueing commands while the broker is down. `bullmq`, `ioredis` and `pg` are loaded on first
 * use, so apps on `memory()` need none of them.
 *
 * For production Redis, set `maxmemory-policy noeviction` and enable persistence (AOF).
 *
 * @example
 * const driver = bullmq({ connection: process.env.REDIS_URL! })
 * // or, on Redis Cluster (the prefix, default '{afterward}', must contain a {hash tag}):
 * const onCluster = bullmq({ cluster: { nodes: ['redis://10.0.0.1:7000'] }, prefix: '{shop}' })
 * // or, on PostgreSQL (tables created in schema 'jobs' on first use):
 * const onPostgres = bullmq({ postgres: { connectionString: process.env.DATABASE_URL!, schema: 'jobs' } })
 */
export function bullmq(options: BullmqDriverOptions): Driver {
  const indexTtl = options?.requestIndexTtl ?? 30 * DAY
  const store = storeFor(options, indexTtl)
  const keepCompleted = { age: 7 * DAY, count: 10_000, ...options.keepCompleted }
  const keepFailed = { age: 30 * DAY, count: 100_000, ...options.keepFailed }
  const prefixed = store.prefix === undefined ? {} : { prefix: store.prefix }

  const queues = new Map<string, Promise<Queue>>()
  const ready = new Map<string, Queue>() // the same Queues, once started: no await per enqueue
  const events = new Map<string, Promise<QueueEvents>>()
  const consumers = new Set<BullmqConsumer>()
  let closed = false

  const bull = (): Promise<typeof BullModule> => import('bullmq')

  function queue(name: string): Promise<Queue> {
    let created = queues.get(name)
    if (!created) {
      checkQueueName(name)
      // Memoized as a promise so that concurrent first uses share one Queue.
      created = (async () => {
        const { Queue } = await bull()
        const binding = await store.producer()
        const q = new (Queue as unknown as QueueClass)(
          name,
          {
            connection: binding.connection,
            ...prefixed,
          },
          binding.backend,
        )
        q.on('error', () => undefined) // surfaced through the commands that fail
        // BullMQ remembers a failed start for good: drop such a Queue so the next use retries.
        await q.waitUntilReady().catch(async (err: unknown) => {
          await q.close().catch(() => undefined)
          throw err
        })
        ready.set(name, q)
        return q
      })()
      created.catch(() => queues.delete(name))
      queues.set(name, created)
    }
    return created
  }

  type Located = { q: Queue; job: BullJobLike; bullState: string; info: JobInfo }

  async function locate(id: string, queueNames: Iterable<string>): Promise<Located | undefined> {
    for (const name of queueNames) {
      const q = await queue(name)
      // State first: a job read after a final state is final too, whereas a job read first
      // could pair an earlier attempt count with a state reached later.
      const bullState = await q.getJobState(id)
      if (bullState === 'unknown') continue
      const job = (await q.getJob(id)) as BullJobLike | undefined
      if (!job) continue
      const info = toInfo(job, bullState)
      if (info) return { q, job, bullState, info }
    }
    return undefined
  }

  async function find(id: string, queueNames: Iterable<string>): Promise<JobInfo | undefined> {
    return (await locate(id, queueNames))?.info
  }

  async function queueEvents(name: string): Promise<QueueEvents> {
    let qe = events.get(name)
    if (!qe) {
      qe = (async () => {
        const { QueueEvents } = await bull()
        const binding: BullBinding = await store.dedicated('events')
        const created = new (QueueEvents as unknown as QueueEventsClass)(
          name,
          { connection: binding.connection, ...prefixed, lastEventId: store.firstEventId },
          binding.backend,
        )
        created.on('error', () => undefined)
        await created.waitUntilReady()
        return created
      })()
      events.set(name, qe)
    }
    return qe
  }

  type Added = { record: JobRecord; storedId: string | undefined }

  async function addGroup(name: string, group: readonly JobRecord[]): Promise<Added[]> {
    const q = ready.get(name) ?? (await queue(name))
    // A lone job skips the MULTI that addBulk wraps around its jobs.
    const bullJobs = group.map(toBullJob)
    const only = bullJobs.length === 1 ? bullJobs[0] : undefined
    const jobs = only ? [await q.add(only.name, only.data, only.opts)] : await q.addBulk(bullJobs)
    return group.map((record, i) => ({ record, storedId: jobs[i]?.id }))
  }

  /** Best effort: removes jobs this call stored (not the live jobs a dedup key pointed to). */
  async function removeStored(stored: Added[]): Promise<void> {
    await Promise.allSettled(
      stored
        .filter((a) => a.storedId === a.record.id)
        .map(async (a) => (await queue(a.record.options.queue)).remove(a.record.id)),
    )
  }

  const driver: Driver = {
    name: 'bullmq',
    durable: true,
    scheduler: bullmqScheduler(queue, store),
    limiter: store.limiter,

    async enqueue(records: readonly JobRecord[], signal?: GiveUpSignal): Promise<EnqueueResult[]> {
      if (closed) throw new AfterwardError(ErrorCode.CLOSED, 'The bullmq driver is closed.')
      const connecting = store.connect()
      if (connecting) await connecting
      // Sent together: each queue's jobs (one script for a lone job, addBulk's MULTI for more)
      // and the request index (one ZADD shared by the requests of this event-loop turn).
      const byQueue = new Map<string, JobRecord[]>()
      for (const r of records) {
        const group = byQueue.get(r.options.queue)
        if (group) group.push(r)
        else byQueue.set(r.options.queue, [r])
      }
      const names = [...byQueue.keys()]
      store.holdWrites?.()
      const settled = await Promise.allSettled([
        store.recordRequest(records),
        store.rememberQueues(names),
        ...names.map((name) => addGroup(name, byQueue.get(name)!)),
      ])
      const stored: Added[] = []
      let failure: PromiseRejectedResult | undefined
      for (let i = 0; i < settled.length; i++) {
        const result = settled[i]!
        if (result.status === 'rejected') failure ??= result
        else if (i >= 2) stored.push(...(result.value as Added[]))
      }
      if (failure || signal?.aborted) {
        // All or nothing: the caller answers "not stored", so take back what did get stored.
        await removeStored(stored)
        throw failure
          ? failure.reason
          : new AfterwardError(ErrorCode.ENQUEUE_FAILED, 'Enqueue abandoned after enqueueTimeout.')
      }
      const ids = new Map(stored.map((a) => [a.record.id, a.storedId]))
      return records.map((r) => {
        const storedId = ids.get(r.id) ?? r.id
        return { id: storedId, deduplicated: storedId !== r.id }
      })
    },

    async get(id) {
      return find(id, await store.queues())
    },

    async detail(id) {
      const found = await locate(id, await store.queues())
      return found && toDetail(found.job, found.bullState)
    },

    async retry(id) {
      const found = await locate(id, await store.queues())
      if (!found) throw jobNotFound(id)
      if (found.info.state !== 'failed') throw notRetryable(id, found.info.state)
      const job = found.job as BullJobLike & {
        retry(state: 'failed', opts: Record<string, boolean>): Promise<void>
      }
      try {
        // Both counters: `attemptsStarted` above `attemptsMade` would mark the next run
        // redelivered.
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true })
      } catch (err) {
        // BullMQ checks the state again in its script: the job moved or went in between.
        const now = await find(id, [found.info.queue])
        if (!now) throw jobNotFound(id)
        if (now.state !== 'failed') throw notRetryable(id, now.state)
        throw err
      }
      return (await find(id, [found.info.queue])) ?? found.info
    },

    async remove(id) {
      const found = await locate(id, await store.queues())
      if (!found) throw jobNotFound(id)
      if (found.info.state === 'active') throw notRemovable(id)
      // 0 when the job is locked: a worker took it in between.
      if ((await found.q.remove(id)) === 0 && (await find(id, [found.info.queue]))) {
        throw notRemovable(id)
      }
    },

    async byRequest(requestId) {
      const members = await store.requestMembers(requestId)
      const found = await Promise.all(members.map((m) => find(m.id, [m.queue])))
      return found
        .filter((j): j is JobInfo => j !== undefined)
        .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
    },

    list: (query) => listJobs(queue, () => store.queues(), query),

    counts: (query) => countJobs(queue, () => store.queues(), query),

    async waitFor(id, timeoutMs) {
      const first = await driver.get(id)
      if (!first)
        throw new AfterwardError(
          ErrorCode.JOB_NOT_FOUND,
          `No job with id '${id}' (never stored, or removed after its retention period).`,
        )
      if (first.state === 'completed' || first.state === 'failed') return first
      const qe = await queueEvents(first.queue)
      return waitFinished(id, timeoutMs, qe, () => find(id, [first.queue]))
    },

    consume(consumeOptions) {
      const consumer = new BullmqConsumer({
        ...consumeOptions,
        prefix: store.prefix,
        // Retention is the workers' (they finish jobs): no per-job options to store and unpack.
        keepCompleted,
        keepFailed,
        connect: () => store.dedicated('worker'),
        requireNoEviction: options.requireNoEviction === true,
        onStart: () => store.rememberQueues(consumeOptions.queues),
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
      await store.close()
    },
  }
  return driver
}
