// The faults: what an operator's bad day does to the broker, the workers and the task's database.
// Each runs once, during the load, and is bounded in count and time; `inject` resolves once the
// fault is over (the server is back, the last kill is done) with its time window.
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import type { PostgresServer } from '../support/pg-server.js'
import type { RedisServer } from '../support/redis.js'
import type { Deployment } from './deployment.js'

export type Form = 'short' | 'long'

/** What a fault acts on. */
export interface FaultEnv {
  form: Form
  deployment: Deployment
  /** The broker, when it is Redis. */
  redis?: RedisServer
  /** The suite's PostgreSQL: the task's database, and the broker with `bullmq({ postgres })`. */
  postgres: PostgresServer
  /** The database the broker uses with `bullmq({ postgres })`. */
  brokerDb: string
}

/** When the fault began and when it was over (the same instant for a kill). */
export interface Window {
  start: number
  end: number
}

export interface Fault {
  name: string
  broker: 'redis' | 'postgres'
  /** redis-server options on top of the suite's (AOF on, `appendfsync everysec`, noeviction). */
  redisConfig?: Record<string, string>
  /** The task writes to PostgreSQL through prismaContext (the PostgreSQL faults hit it there). */
  db?: boolean
  forms: readonly Form[]
  inject(env: FaultEnv): Promise<Window>
  /**
   * A documented loss: acknowledged jobs lost are reported, not failed, when every one of them was
   * acknowledged at most this many ms before the fault began (Redis `appendfsync everysec`).
   */
  lossWindowMs?: number
}

/** `short` or `long` by form. */
const by = <T>(env: FaultEnv, short: T, long: T): T => (env.form === 'short' ? short : long)

/** Runs `act` every `everyMs` for `forMs` (at least once); bounded by both. */
async function every(everyMs: number, forMs: number, act: () => Promise<unknown>): Promise<Window> {
  const start = Date.now()
  let end = start
  for (let i = 0; i === 0 || Date.now() - start + everyMs <= forMs; i++) {
    if (i > 0) await sleep(everyMs)
    end = Date.now()
    await act()
  }
  return { start, end }
}

/** Holds a fault for `ms`: `begin()`, wait, `heal()`; the window ends once healed. */
async function hold(ms: number, begin: () => Promise<unknown>, heal: () => Promise<unknown>) {
  const start = Date.now()
  await begin()
  try {
    await sleep(ms)
  } finally {
    await heal()
  }
  return { start, end: Date.now() }
}

/** A short-lived admin connection to the broker Redis. */
async function withRedis<T>(env: FaultEnv, use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(env.redis!.url, { maxRetriesPerRequest: 1, lazyConnect: true })
  try {
    await redis.connect()
    return await use(redis)
  } finally {
    redis.disconnect()
  }
}

const workerKills = (signal: NodeJS.Signals) => (env: FaultEnv) =>
  every(5_000, by(env, 0, 10_000), () => env.deployment.killWorker(0, signal))

const redisKill = (env: FaultEnv) =>
  hold(
    1_000,
    () => env.redis!.kill('SIGKILL'),
    () => env.redis!.restart(),
  )

const redisRestart = (downMs: number) => (env: FaultEnv) =>
  hold(
    downMs,
    () => env.redis!.kill('SIGTERM'),
    () => env.redis!.restart(),
  )

/** Terminates every connection of `role` (the task's) or to `database` (the broker's). */
const terminate = (env: FaultEnv, where: string) =>
  env.postgres.query(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE ${where} AND pid <> pg_backend_pid()`,
  )

const pgStop = (ms: (env: FaultEnv) => number) => (env: FaultEnv) =>
  hold(
    ms(env),
    async () => env.postgres.signalAll('SIGSTOP'),
    async () => env.postgres.signalAll('SIGCONT'),
  )

const pgRestart = (mode: 'fast' | 'immediate') => async (env: FaultEnv) => {
  const start = Date.now()
  await env.postgres.restart(mode, 1_000)
  return { start, end: Date.now() }
}

export const faults: readonly Fault[] = [
  {
    name: 'worker kill -9',
    broker: 'redis',
    forms: ['short', 'long'],
    inject: workerKills('SIGKILL'),
  },
  {
    name: 'worker SIGTERM',
    broker: 'redis',
    forms: ['short', 'long'],
    inject: workerKills('SIGTERM'),
  },
  {
    name: 'Redis shutdown, restart after 2 s',
    broker: 'redis',
    forms: ['short', 'long'],
    inject: redisRestart(2_000),
  },
  {
    name: 'Redis shutdown, restart after 30 s',
    broker: 'redis',
    forms: ['long'],
    inject: redisRestart(30_000),
  },
  {
    name: 'Redis kill -9, AOF everysec',
    broker: 'redis',
    redisConfig: { appendfsync: 'everysec' },
    forms: ['short', 'long'],
    // Redis documents up to 2 s of writes lost with everysec when the disk is slow.
    lossWindowMs: 2_000,
    inject: redisKill,
  },
  {
    name: 'Redis kill -9, AOF always',
    broker: 'redis',
    redisConfig: { appendfsync: 'always' },
    forms: ['short', 'long'],
    inject: redisKill,
  },
  {
    name: 'Redis SIGSTOP (5 s short, 20 s long)',
    broker: 'redis',
    forms: ['short', 'long'],
    inject: (env) =>
      hold(
        by(env, 5_000, 20_000),
        () => env.redis!.kill('SIGSTOP'),
        () => env.redis!.kill('SIGCONT'),
      ),
  },
  {
    name: 'CLIENT KILL every 1 s',
    broker: 'redis',
    forms: ['short', 'long'],
    inject: (env) =>
      every(1_000, by(env, 5_000, 20_000), () =>
        withRedis(env, (redis) => redis.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes')),
      ),
  },
  {
    name: 'Redis full (maxmemory, noeviction)',
    broker: 'redis',
    forms: ['short', 'long'],
    inject: (env) =>
      withRedis(env, (redis) =>
        hold(
          by(env, 5_000, 20_000),
          async () => {
            const info = await redis.info('memory')
            const used = /used_memory:(\d+)/.exec(info)?.[1] ?? '1'
            await redis.config('SET', 'maxmemory', used)
          },
          () => redis.config('SET', 'maxmemory', '0'),
        ),
      ),
  },
  {
    name: 'task DB: PostgreSQL restart (fast)',
    broker: 'redis',
    db: true,
    forms: ['short', 'long'],
    inject: pgRestart('fast'),
  },
  {
    name: 'task DB: PostgreSQL restart (immediate)',
    broker: 'redis',
    db: true,
    forms: ['short', 'long'],
    inject: pgRestart('immediate'),
  },
  {
    name: 'task DB: pg_terminate_backend every 2 s',
    broker: 'redis',
    db: true,
    forms: ['short', 'long'],
    inject: (env) => every(2_000, by(env, 6_000, 20_000), () => terminate(env, `usename = 'app'`)),
  },
  {
    name: 'task DB: connection limit 2 < pool 10',
    broker: 'redis',
    db: true,
    forms: ['short', 'long'],
    inject: (env) =>
      hold(
        by(env, 6_000, 20_000),
        async () => {
          await env.postgres.query('ALTER ROLE app CONNECTION LIMIT 2')
          await terminate(env, `usename = 'app'`)
        },
        () => env.postgres.query('ALTER ROLE app CONNECTION LIMIT -1'),
      ),
  },
  {
    name: 'task DB: PostgreSQL SIGSTOP (3 s short, 20 s long)',
    broker: 'redis',
    db: true,
    forms: ['short', 'long'],
    inject: pgStop((env) => by(env, 3_000, 20_000)),
  },
  {
    name: 'bullmq({ postgres }): worker kill -9',
    broker: 'postgres',
    forms: ['short', 'long'],
    inject: workerKills('SIGKILL'),
  },
  {
    name: 'bullmq({ postgres }): worker SIGTERM',
    broker: 'postgres',
    forms: ['long'],
    inject: workerKills('SIGTERM'),
  },
  {
    name: 'bullmq({ postgres }): PostgreSQL restart (fast)',
    broker: 'postgres',
    forms: ['short', 'long'],
    inject: pgRestart('fast'),
  },
  {
    name: 'bullmq({ postgres }): PostgreSQL restart (immediate)',
    broker: 'postgres',
    forms: ['long'],
    inject: pgRestart('immediate'),
  },
  {
    name: 'bullmq({ postgres }): pg_terminate_backend every 2 s',
    broker: 'postgres',
    forms: ['short', 'long'],
    inject: (env) =>
      every(2_000, by(env, 6_000, 20_000), () => terminate(env, `datname = '${env.brokerDb}'`)),
  },
  {
    name: 'bullmq({ postgres }): PostgreSQL SIGSTOP 20 s',
    broker: 'postgres',
    forms: ['long'],
    inject: pgStop(() => 20_000),
  },
]
