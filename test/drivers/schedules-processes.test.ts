// Exactly one run per tick across processes: three real worker processes share one broker and
// a schedule that ticks every second. For 11 s, one of them shutting down half-way, every tick
// between the first and the last must have run once: none twice, none missing.
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import type { BullmqDriverOptions } from '@afterward/core'
import { deferred } from '../support/afterward.js'
import { createTestDatabase, type TestDatabase } from '../support/pg.js'
import { redisUrl, uniqueQueueName } from '../support/redis.js'

const fixture = fileURLToPath(new URL('./fixtures/schedule-worker.ts', import.meta.url))
const OBSERVE_MS = 11_000

interface Run {
  tick: number
  jobId: string
  worker: number
}

function startWorker(options: BullmqDriverOptions, worker: number, runs: Run[]) {
  const child = fork(fixture, [JSON.stringify(options)], {
    execArgv: ['--import', 'tsx', '--conditions=source'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  onTestFinished(() => void child.kill('SIGKILL'))
  const ready = deferred()
  child.on('message', (m: { type: string; tick?: number; jobId?: string }) => {
    if (m.type === 'ready') ready.resolve()
    if (m.type === 'run') runs.push({ tick: m.tick!, jobId: m.jobId!, worker })
  })
  child.once('exit', (code) => ready.reject(new Error(`worker ${worker} exited with ${code}`)))
  return { child, ready: ready.promise }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve()
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  return exited
}

const table: Record<string, unknown>[] = []
let db: TestDatabase
beforeAll(async () => {
  db = await createTestDatabase()
})
afterAll(async () => {
  // The numbers the test asserts on, per driver, for the record.
  console.log('\nschedule every 1 s, 3 worker processes, one stopped half-way:')
  console.table(table)
  await db?.drop()
})

const backends: [string, () => BullmqDriverOptions][] = [
  ['bullmq on Redis', () => ({ connection: redisUrl, prefix: uniqueQueueName('sched') })],
  [
    'bullmq on PostgreSQL',
    () => ({
      postgres: {
        connectionString: db.url,
        schema: uniqueQueueName('sched').replace('-', '_'),
        max: 4,
      },
    }),
  ],
]

describe('schedules across processes', () => {
  it.concurrent.each(backends)(
    '%s: every tick runs once, none twice, none missing',
    async (driver, options) => {
      const runs: Run[] = []
      const shared = options()
      const workers = [0, 1, 2].map((n) => startWorker(shared, n, runs))
      await Promise.all(workers.map((w) => w.ready))
      // Half-way, one worker shuts down (SIGTERM: it finishes its job and leaves).
      await new Promise((resolve) => setTimeout(resolve, OBSERVE_MS / 2))
      await stop(workers[0]!.child)
      await new Promise((resolve) => setTimeout(resolve, OBSERVE_MS / 2))
      await Promise.all(workers.map((w) => stop(w.child)))

      const perTick = new Map<number, number>()
      for (const run of runs) perTick.set(run.tick, (perTick.get(run.tick) ?? 0) + 1)
      const ticks = [...perTick.keys()].sort((a, b) => a - b)
      const first = ticks[0]!
      const last = ticks.at(-1)!
      const expected = Array.from(
        { length: (last - first) / 1_000 + 1 },
        (_, i) => first + i * 1_000,
      )
      const duplicates = [...perTick.values()].filter((n) => n > 1).length
      const misses = expected.filter((tick) => !perTick.has(tick)).length
      const byWorker = [0, 1, 2].map((w) => runs.filter((r) => r.worker === w).length)
      table.push({
        driver,
        ticks: expected.length,
        runs: runs.length,
        duplicates,
        misses,
        'runs per worker': byWorker.join(' / '),
      })
      expect(expected.length).toBeGreaterThanOrEqual(10)
      expect(duplicates).toBe(0)
      expect(misses).toBe(0)
      expect(runs).toHaveLength(expected.length)
      expect(new Set(runs.map((r) => r.jobId)).size).toBe(runs.length)
    },
    60_000,
  )
})
