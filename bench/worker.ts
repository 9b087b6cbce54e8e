// Draining throughput on BullMQ: afterward.worker() against a raw BullMQ Worker, measured in the
// same run, on a private redis-server and (for prismaContext) a PostgreSQL database of its own.
//   pnpm exec tsx bench/worker.ts   (WORKER_JOBS, WORKER_RUNS=3, WORKER_CONCURRENCY=1,10,50)
import { Queue, Worker as BullWorker } from 'bullmq'
import { Redis } from 'ioredis'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { bullmq, createAfterward, defineTask, type ContextProviders } from '@afterward/core'
import { prismaContext } from '@afterward/prisma'
import { afterwardMetrics } from '@afterward/prometheus'
import { createPrisma, createTestDatabase } from '../test/support/pg.js'
import { startRedisServer } from '../test/support/redis.js'
import { interleave, reportRates } from './stats.js'

const DAY = 24 * 60 * 60
// bullmq()'s defaults (packages/core/src/drivers/bullmq/index.ts), given to the raw queue too:
// trimming the completed set is part of every completion, so both sides must do the same.
const keepCompleted = { age: 7 * DAY, count: 10_000 }
const keepFailed = { age: 30 * DAY, count: 100_000 }

const runs = Number(process.env.WORKER_RUNS ?? 3)
const concurrencies = (process.env.WORKER_CONCURRENCY ?? '1,10,50').split(',').map(Number)
/** Jobs per run: concurrency 1 drains slowly, so fewer jobs keep the whole bench near 3 minutes. */
const jobsFor = (concurrency: number): number =>
  Number(process.env.WORKER_JOBS ?? (concurrency === 1 ? 4_000 : 20_000))
const input = { userId: 42, email: 'ada@example.com', plan: 'pro' }
const QUEUE = 'default'
const BATCH = 500

// Afterward logs as a production worker would (pino at info, asynchronously, here to /dev/null).
const logger = pino(
  { level: process.env.WORKER_LOG_LEVEL ?? 'info' },
  pino.destination({ dest: '/dev/null', sync: false }),
)

/** What one run measured, between the first and the last call of the processor. */
interface Measured {
  /** Jobs per second. */
  rate: number
  /** CPU time of this process (user + system) per job, in µs: Redis's share is not in it. */
  cpu: number
  /** CPU time of the benchmark's Redis per job, in µs (from INFO cpu, start of the drain on). */
  redis: number
}

/** Counts calls of the no-op processor; `done` resolves when the last one was made. */
class Drain {
  #seen = 0
  #first = 0
  #firstCpu: NodeJS.CpuUsage | undefined
  readonly done: Promise<Measured>
  #resolve!: (measured: Measured) => void
  constructor(readonly jobs: number) {
    this.done = new Promise((resolve) => (this.#resolve = resolve))
  }
  tick = (): void => {
    if (this.#seen === 0) {
      this.#first = performance.now()
      this.#firstCpu = process.cpuUsage()
    }
    if (++this.#seen === this.jobs) {
      const ms = performance.now() - this.#first
      const cpu = process.cpuUsage(this.#firstCpu)
      this.#resolve({
        rate: ((this.jobs - 1) / ms) * 1_000,
        cpu: (cpu.user + cpu.system) / (this.jobs - 1),
        redis: 0,
      })
    }
  }
}

const redis = await startRedisServer()
const db = await createTestDatabase()
const admin = new Redis(redis.url)
let prefixes = 0

/** CPU time the benchmark's Redis has used so far, in µs. */
async function redisCpu(): Promise<number> {
  const info = await admin.info('cpu')
  const seconds = (name: string): number => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1])
  return (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1e6
}

type Kind = 'raw' | 'raw-priority' | 'afterward' | 'metrics' | 'prisma'

/** One run: fills a fresh prefix with `jobs` jobs (untimed), then times the drain. */
async function drain(kind: Kind, concurrency: number, jobs: number): Promise<Measured> {
  const prefix = `bench-${++prefixes}`
  const counter = new Drain(jobs)
  try {
    if (kind === 'raw' || kind === 'raw-priority') {
      const connection = new Redis(redis.url, { maxRetriesPerRequest: null })
      const queue = new Queue(QUEUE, {
        connection,
        prefix,
        defaultJobOptions: { removeOnComplete: keepCompleted, removeOnFail: keepFailed },
      })
      for (let added = 0; added < jobs; added += BATCH) {
        const size = Math.min(BATCH, jobs - added)
        // Afterward's `normal` is BullMQ priority 2: its jobs wait in the prioritized set, not in
        // the wait list, and a worker takes them from there (see "Priorities" in the core README).
        const opts = kind === 'raw-priority' ? { priority: 2 } : undefined
        await queue.addBulk(
          Array.from({ length: size }, () => ({ name: 'noop', data: input, opts })),
        )
      }
      const worker = new BullWorker(QUEUE, async () => counter.tick(), {
        connection,
        prefix,
        concurrency,
        autorun: false,
      })
      await worker.waitUntilReady()
      const redisStart = await redisCpu()
      worker.run().catch((err: unknown) => console.error(err))
      const measured = await counter.done
      measured.redis = ((await redisCpu()) - redisStart) / jobs
      await worker.close()
      await queue.close()
      await connection.quit()
      return measured
    }
    const noop = defineTask({
      name: 'noop',
      run: async (_input: typeof input) => counter.tick(),
    })
    const context: ContextProviders =
      kind === 'prisma'
        ? {
            db: prismaContext(({ poolSize }) =>
              createPrisma(db.url, { applicationName: 'aw-bench', max: poolSize }),
            ),
          }
        : {}
    const afterward = createAfterward({
      tasks: [noop],
      driver: bullmq({ connection: redis.url, prefix }),
      context,
      logger,
      enqueueTimeout: 60_000,
    })
    // Counted from the first defer: the metrics see the producer's events and the worker's.
    if (kind === 'metrics') afterwardMetrics({ afterward, registry: new Registry() })
    for (let added = 0, request = 0; added < jobs; added += BATCH, request++) {
      const scope = afterward.scope({ requestId: `bench-request-${request}` })
      for (let i = 0; i < Math.min(BATCH, jobs - added); i++) scope.defer(noop, input)
      await scope.flush()
    }
    const redisStart = await redisCpu()
    await afterward.worker({ concurrency }).start()
    const measured = await counter.done
    measured.redis = ((await redisCpu()) - redisStart) / jobs
    await afterward.close()
    return measured
  } finally {
    await admin.flushall()
  }
}

const KINDS = [
  'raw',
  'raw-priority',
  'afterward',
  'metrics',
  'prisma',
] as const satisfies readonly Kind[]
const names: Record<Kind, string> = {
  raw: 'raw BullMQ Worker (no-op)',
  'raw-priority': 'raw BullMQ Worker, jobs with priority 2',
  afterward: 'afterward.worker() (no context)',
  metrics: 'afterward.worker() + @afterward/prometheus',
  prisma: 'afterward.worker() + prismaContext',
}

try {
  console.log(
    `\nWorker drain on BullMQ: private redis-server, Node ${process.version}, ${runs} interleaved runs per case`,
  )
  // Warm-up, untimed: JIT, module loading, the first Prisma client.
  for (const kind of KINDS) await drain(kind, 10, 1_000)
  for (const concurrency of concurrencies) {
    const jobs = jobsFor(concurrency)
    const results = await interleave(KINDS, runs, (kind) => drain(kind, concurrency, jobs))
    const rows = (value: (m: Measured) => number) => [
      { name: names.raw, rates: results.get('raw')!.map(value) },
      {
        name: names['raw-priority'],
        rates: results.get('raw-priority')!.map(value),
        baseline: names.raw,
      },
      { name: names.afterward, rates: results.get('afterward')!.map(value), baseline: names.raw },
      // Metrics cost against the same worker without them (at most 3 % is the target).
      {
        name: names.metrics,
        rates: results.get('metrics')!.map(value),
        baseline: names.afterward,
      },
      { name: names.prisma, rates: results.get('prisma')!.map(value), baseline: names.raw },
    ]
    reportRates(
      `concurrency ${concurrency}, ${jobs} jobs per run`,
      'jobs/s',
      rows((m) => m.rate),
    )
    reportRates(
      `  CPU of this process per job (lower is better)`,
      'µs',
      rows((m) => m.cpu),
    )
    reportRates(
      `  CPU of Redis per job (lower is better)`,
      'µs',
      rows((m) => m.redis),
    )
  }
} finally {
  await admin.quit()
  await redis.stop()
  await db.drop()
}
