import { randomUUID } from 'node:crypto'
import type { JobRecord } from '../../driver.js'
import { AfterwardError, ErrorCode } from '../../errors.js'
import type { BackendStore, BullBinding, RequestMember } from './store.js'
import {
  bucketExpiry,
  bucketOf,
  indexBuckets,
  indexMember,
  liveBuckets,
  memberRange,
  parseMember,
} from './request-index.js'
import {
  openRedis,
  whenReady,
  type RedisClient,
  type RedisClusterConnection,
  type RedisConnection,
} from './connection.js'
import { redisLimiter } from './limiter-redis.js'

export interface RedisStoreOptions {
  connection: RedisConnection | RedisClusterConnection
  /** On a cluster, hash-tagged (checked by `storeFor`): every key below then lives in one slot. */
  prefix: string
  /** Seconds a request's index entry is kept. */
  requestIndexTtl: number
}

/** Numbers a fingerprint not seen before (or, when forced, one older than the newest). */
const GENERATION_SCRIPT = `
local newest = tonumber(redis.call('HGET', KEYS[1], '__newest') or '0')
local mine = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if mine == 0 or (ARGV[2] == '1' and mine < newest) then
  newest = newest + 1
  mine = newest
  redis.call('HSET', KEYS[1], ARGV[1], mine, '__newest', newest)
end
return { mine, newest }`

const UNLOCK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`

/** A reconcile holds the lock this long at most (a crashed holder frees it then). */
const LOCK_TTL_MS = 30_000
const LOCK_WAIT_MS = 35_000

/**
 * The Redis side of `bullmq()`: a producer client without offline queue (fail fast), the
 * request index for `jobs.byRequest` (request-index.ts), and a set of queue names for `jobs.get`.
 */
export function redisStore(options: RedisStoreOptions): BackendStore {
  const { connection, prefix, requestIndexTtl } = options
  const queuesKey = `${prefix}:afterward:queues`
  const generationsKey = `${prefix}:afterward:schedule-generations`
  const lockKey = `${prefix}:afterward:schedule-lock`
  const runsKey = `${prefix}:afterward:schedule-runs`
  const buckets = indexBuckets(requestIndexTtl)
  const bucketKey = (bucket: number): string => `${prefix}:afterward:requests:${bucket}`
  let expiringBucket = -1 // the bucket whose TTL this process has set
  const knownQueues = new Set<string>()
  const owned = new Set<RedisClient>()
  let producer: Promise<RedisClient> | undefined
  let readyWait: Promise<RedisClient> | undefined

  let opened: RedisClient | undefined // the producer, once open

  const redis = async (): Promise<RedisClient> => {
    producer ??= openRedis(connection, 'producer', `${prefix}:producer`).then((client) => {
      client.on('error', () => undefined) // surfaced through the commands that fail
      return (opened = client)
    })
    const client = await producer
    if (client.status === 'ready') return client
    // Every caller waiting for the same reconnect shares one listener.
    readyWait ??= whenReady(client, 5_000).finally(() => (readyWait = undefined))
    return readyWait
  }

  /**
   * The producer's writes of one event-loop turn. While the producer is ready, its socket is
   * corked from the turn's first enqueue to the end of the turn: the jobs of every request that
   * flushed in it, and the turn's one request-index ZADD (sent just before the uncork), leave in
   * one write, and Redis reads them in one go instead of being woken once per request. No command
   * waits longer than the turn it was sent in. A cluster (a socket per node) is not corked.
   *
   * Producers only: a worker's completions held this way were measured slower (about 0.6× the
   * jobs per second at concurrency 10), its jobs then finishing in lockstep with Redis's replies.
   */
  interface Turn {
    members: string[]
    /** Settles with the turn's ZADD, sent at its end. */
    indexed: Promise<void>
    index: (write: Promise<void> | undefined) => void
    corked: { uncork(): void } | undefined
  }
  let turn: Turn | undefined

  function currentTurn(): Turn {
    if (turn) return turn
    let index!: Turn['index']
    const indexed = new Promise<void>((resolve) => (index = resolve))
    const stream = opened?.status === 'ready' ? (opened as { stream?: unknown }).stream : undefined
    const corked = isCorkable(stream) ? stream : undefined
    corked?.cork()
    const started: Turn = (turn = { members: [], indexed, index, corked })
    setImmediate(() => {
      turn = undefined
      try {
        started.index(started.members.length > 0 ? writeIndex(started.members) : undefined)
      } finally {
        // Whatever happened above, the socket must not stay corked.
        started.corked?.uncork()
      }
    })
    return started
  }

  function writeIndex(members: readonly string[]): Promise<void> {
    const bucket = bucketOf(buckets, Date.now())
    const key = bucketKey(bucket)
    const send = (client: RedisClient): Promise<void> => {
      const added = client.zadd(key, ...members.flatMap((member) => ['0', member]))
      // The bucket's TTL is set by the first write of each process into it.
      if (bucket === expiringBucket) return added.then(() => undefined)
      return Promise.all([added, client.expireat(key, bucketExpiry(buckets, bucket))]).then(() => {
        expiringBucket = bucket
      })
    }
    // Synchronously while the producer is ready, so that the ZADD goes out in the turn's write.
    return opened?.status === 'ready' ? send(opened) : redis().then(send)
  }

  const quit = async (client: RedisClient): Promise<void> => {
    owned.delete(client)
    await client.quit().catch(() => client.disconnect())
  }

  return {
    label: 'Redis',
    limiter: redisLimiter(redis, prefix),
    // Read the stream from its start: an event written between a caller's first look at the
    // job and the first XREAD would otherwise be missed.
    firstEventId: '0-0',
    prefix,

    connect() {
      // Nothing to wait for on the hot path: the producer is up.
      if (opened?.status === 'ready') return undefined
      return redis().then(() => undefined)
    },

    async producer(): Promise<BullBinding> {
      // Shared by every Queue; closed by close(), not by the Queues.
      return { connection: await redis(), backend: undefined, release: async () => undefined }
    },

    async dedicated(role): Promise<BullBinding> {
      // Blocking clients retry forever, as BullMQ requires; they need no ready producer.
      const client = await openRedis(connection, 'worker', `${prefix}:${role}`)
      client.on('error', () => undefined) // BullMQ reports it through the worker or events
      owned.add(client)
      return { connection: client, backend: undefined, release: () => quit(client) }
    },

    holdWrites() {
      currentTurn()
    },

    recordRequest(records: readonly JobRecord[]) {
      const members: string[] = []
      for (const r of records) {
        if (r.requestId !== undefined) members.push(indexMember(r.requestId, r.options.queue, r.id))
      }
      if (members.length === 0) return Promise.resolve()
      // The requests of one turn share one ZADD; each still waits for its entries to be stored.
      const current = currentTurn()
      current.members.push(...members)
      return current.indexed
    },

    async requestMembers(requestId): Promise<RequestMember[]> {
      const client = await redis()
      const [min, max] = memberRange(requestId)
      const found = await Promise.all(
        liveBuckets(buckets, Date.now()).map((b) => client.zrangebylex(bucketKey(b), min, max)),
      )
      const unique = new Set(found.flat())
      return [...unique].map((member) => parseMember(requestId, member))
    },

    rememberQueues(names) {
      const fresh = names.filter((n) => !knownQueues.has(n))
      if (fresh.length === 0) return Promise.resolve()
      return redis()
        .then((client) => client.sadd(queuesKey, ...fresh))
        .then(() => fresh.forEach((n) => knownQueues.add(n)))
    },

    async queues() {
      const stored = await (await redis()).smembers(queuesKey)
      return [...new Set([...knownQueues, ...stored])]
    },

    async scheduleGeneration(fingerprint, force) {
      const client = await redis()
      const [generation, newest] = (await client.eval(
        GENERATION_SCRIPT,
        1,
        generationsKey,
        fingerprint,
        force ? '1' : '0',
      )) as [number, number]
      return { generation, newest }
    },

    async scheduleLock(fn) {
      const client = await redis()
      const token = randomUUID()
      const deadline = Date.now() + LOCK_WAIT_MS
      while ((await client.set(lockKey, token, 'PX', LOCK_TTL_MS, 'NX')) !== 'OK') {
        if (Date.now() > deadline) {
          throw new AfterwardError(
            ErrorCode.BROKER_UNAVAILABLE,
            `Another process has held the schedule lock (${lockKey}) for over ${LOCK_WAIT_MS / 1_000} s; try again, or delete that key if its process died.`,
          )
        }
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      try {
        return await fn()
      } finally {
        await client.eval(UNLOCK_SCRIPT, 1, lockKey, token).catch(() => undefined)
      }
    },

    async recordRun(slot, jobId) {
      await (await redis()).hset(runsKey, slot, jobId)
    },

    async lastRuns(slots) {
      if (slots.length === 0) return []
      const ids = await (await redis()).hmget(runsKey, ...slots)
      return ids.map((id) => id ?? undefined)
    },

    async close() {
      await Promise.allSettled([...owned].map(quit))
      if (producer) {
        const client = await producer.catch(() => undefined)
        await client?.quit().catch(() => client.disconnect())
      }
    },
  }
}

function isCorkable(stream: unknown): stream is { cork(): void; uncork(): void } {
  return typeof (stream as { cork?: unknown } | undefined)?.cork === 'function'
}
