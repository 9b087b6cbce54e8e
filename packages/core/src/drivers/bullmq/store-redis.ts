import type { JobRecord } from '../../driver.js'
import type { BackendStore, BullBinding, RequestMember } from './store.js'
import {
  openRedis,
  whenReady,
  type RedisClient,
  type RedisClusterConnection,
  type RedisConnection,
} from './connection.js'

export interface RedisStoreOptions {
  connection: RedisConnection | RedisClusterConnection
  /** On a cluster, hash-tagged (checked by `storeFor`): every key below then lives in one slot. */
  prefix: string
  /** Seconds a request's index entry is kept. */
  requestIndexTtl: number
}

// Adds members to a request's index set and (re)sets its TTL, atomically, in one command.
const INDEX_SCRIPT = `redis.call('SADD', KEYS[1], unpack(ARGV, 2))
redis.call('EXPIRE', KEYS[1], ARGV[1])`

type IndexCommand = (key: string, ttl: number, ...members: string[]) => Promise<unknown>

/**
 * Defines the index script on a new producer client, before any command: an auto-pipeline
 * batch created earlier in the same tick would not know a command defined later.
 */
function defineIndexCommand(client: RedisClient): RedisClient {
  client.defineCommand('afterwardIndex', { numberOfKeys: 1, lua: INDEX_SCRIPT })
  return client
}

const indexCommand = (client: RedisClient): IndexCommand =>
  (client as unknown as { afterwardIndex: IndexCommand }).afterwardIndex

/**
 * The Redis side of `bullmq()`: a producer client without offline queue (fail fast), a set per
 * request id for `jobs.byRequest`, and a set of queue names for `jobs.get`.
 */
export function redisStore(options: RedisStoreOptions): BackendStore {
  const { connection, prefix, requestIndexTtl } = options
  const queuesKey = `${prefix}:afterward:queues`
  const requestKey = (requestId: string): string => `${prefix}:afterward:request:${requestId}`
  const knownQueues = new Set<string>()
  const owned = new Set<RedisClient>()
  let producer: Promise<RedisClient> | undefined
  let readyWait: Promise<RedisClient> | undefined

  const redis = async (): Promise<RedisClient> => {
    producer ??= openRedis(connection, 'producer', `${prefix}:producer`).then((client) => {
      client.on('error', () => undefined) // surfaced through the commands that fail
      return defineIndexCommand(client)
    })
    const client = await producer
    if (client.status === 'ready') return client
    // Every caller waiting for the same reconnect shares one listener.
    readyWait ??= whenReady(client, 5_000).finally(() => (readyWait = undefined))
    return readyWait
  }

  const quit = async (client: RedisClient): Promise<void> => {
    owned.delete(client)
    await client.quit().catch(() => client.disconnect())
  }

  return {
    label: 'Redis',
    // Read the stream from its start: an event written between a caller's first look at the
    // job and the first XREAD would otherwise be missed.
    firstEventId: '0-0',
    prefix,

    async connect() {
      await redis()
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

    async recordRequest(records: readonly JobRecord[]) {
      const byRequest = new Map<string, string[]>()
      for (const r of records) {
        if (r.requestId === undefined) continue
        const members = byRequest.get(r.requestId)
        const member = `${r.options.queue}|${r.id}`
        if (members) members.push(member)
        else byRequest.set(r.requestId, [member])
      }
      if (byRequest.size === 0) return
      const client = await redis()
      // One command per request (the add and the TTL in one script), auto-pipelined with the
      // job's own add: no MULTI, no extra round trip.
      await Promise.all(
        [...byRequest].map(([requestId, members]) =>
          indexCommand(client).call(client, requestKey(requestId), requestIndexTtl, ...members),
        ),
      )
    },

    async requestMembers(requestId): Promise<RequestMember[]> {
      const members = await (await redis()).smembers(requestKey(requestId))
      return members.map((m) => {
        const at = m.indexOf('|')
        return { queue: m.slice(0, at), id: m.slice(at + 1) }
      })
    },

    async rememberQueues(names) {
      const fresh = names.filter((n) => !knownQueues.has(n))
      if (fresh.length === 0) return
      await (await redis()).sadd(queuesKey, ...fresh)
      for (const n of fresh) knownQueues.add(n)
    },

    async queues() {
      const stored = await (await redis()).smembers(queuesKey)
      return [...new Set([...knownQueues, ...stored])]
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
