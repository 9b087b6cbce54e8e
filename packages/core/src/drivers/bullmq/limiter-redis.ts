// Task limits on Redis: one Lua script checks a concurrency key and a rate key and takes both or
// neither, atomically for every worker process, on Redis's own clock.
//  - concurrency: a sorted set per key of the jobs running under it, scored by when their lease
//    ends. Expired leases (a worker that died) are dropped before counting; running jobs renew.
//  - rate: a sorted set per key of the starts in the last `per` ms (a sliding log): at most `max`
//    starts in any window of `per` ms, and a held job learns when the oldest start leaves it.
// Each key expires on its own once idle, so memory follows the keys in use, not all keys ever.
import type { LimitDecision, LimitRequest, Limiter } from '../../driver.js'
import type { RedisClient } from './connection.js'

const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local job = ARGV[1]
local slots = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
local max = tonumber(ARGV[4])
local per = tonumber(ARGV[5])
if slots > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  if not redis.call('ZSCORE', KEYS[1], job) and redis.call('ZCARD', KEYS[1]) >= slots then
    return {0, -1, now}
  end
end
if max > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - per)
  if redis.call('ZCARD', KEYS[2]) >= max then
    local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    return {0, tonumber(oldest[2]) + per - now, now}
  end
  redis.call('ZADD', KEYS[2], now, job .. '@' .. now)
  redis.call('PEXPIRE', KEYS[2], per)
end
if slots > 0 then
  redis.call('ZADD', KEYS[1], now + lease, job)
  redis.call('PEXPIRE', KEYS[1], lease * 2)
end
return {1, 0, now}
`

const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[2])
if redis.call('ZADD', KEYS[1], 'XX', 'CH', now + lease, ARGV[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], lease * 2)
end
return 1
`

type Evaluating = RedisClient & {
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>
}

/** `prefix` is the driver's (hash-tagged on a cluster): both keys of a job share its slot. */
export function redisLimiter(redis: () => Promise<RedisClient>, prefix: string): Limiter {
  const slotsKey = (key: string): string => `${prefix}:afterward:limit:c:${key}`
  const rateKey = (key: string): string => `${prefix}:afterward:limit:r:${key}`

  return {
    async acquire({ jobId, concurrency, rate }: LimitRequest): Promise<LimitDecision> {
      const client = (await redis()) as Evaluating
      const slots = slotsKey(concurrency?.key ?? '')
      const [granted, retryIn, startedAt] = (await client.eval(
        ACQUIRE,
        2,
        slots,
        rateKey(rate?.key ?? ''),
        jobId,
        concurrency?.max ?? 0,
        concurrency?.lease ?? 0,
        rate?.max ?? 0,
        rate?.per ?? 0,
      )) as [number, number, number]
      if (granted !== 1) return { granted: false, retryIn: retryIn < 0 ? undefined : retryIn }
      return {
        granted: true,
        startedAt,
        async renew() {
          if (!concurrency) return
          await ((await redis()) as Evaluating).eval(RENEW, 1, slots, jobId, concurrency.lease)
        },
        async release() {
          if (!concurrency) return
          await (await redis()).zrem(slots, jobId)
        },
      }
    },
  }
}
