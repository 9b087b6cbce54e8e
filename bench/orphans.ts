// Crash recovery on BullMQ: how long after a worker process is killed with SIGKILL its running
// job starts again on a surviving worker, with the default lock settings (8 s lock, 4 s check)
// and, for comparison, BullMQ's own defaults (30 s, 30 s). Private Redis; RUNS kills per setting.
//   pnpm exec tsx bench/orphans.ts   (RUNS=5)
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { pino } from 'pino'
import { bullmq, createAfterward, defineTask } from '@afterward/core'
import { startRedisServer } from '../test/support/redis.js'
import { median, percentile, table } from './stats.js'

const runs = Number(process.env.RUNS ?? 5)
const settings = {
  'afterward defaults (8 s lock, 4 s check)': undefined,
  ...(process.env.BULLMQ_DEFAULTS === '1'
    ? {
        'BullMQ defaults (30 s lock, 30 s check)': {
          lockDuration: 30_000,
          stalledInterval: 30_000,
        },
      }
    : {}),
} as Record<string, { lockDuration: number; stalledInterval: number } | undefined>
const fixture = fileURLToPath(new URL('../test/drivers/fixtures/orphan-worker.ts', import.meta.url))
const redis = await startRedisServer()

/** One crash: a child worker takes the job, is killed; ms until the survivor starts it. */
async function recovery(
  prefix: string,
  lock: { lockDuration: number; stalledInterval: number } | undefined,
): Promise<number> {
  const hold = defineTask({ name: 'hold', run: () => undefined })
  const afterward = createAfterward({
    tasks: [hold],
    driver: bullmq({ connection: redis.url, prefix }),
    logger: pino({ level: 'silent' }),
  })
  const args = lock ? [String(lock.lockDuration), String(lock.stalledInterval)] : []
  const child = fork(fixture, [redis.url, prefix, ...args], {
    execArgv: ['--import', 'tsx'],
    // The fixture lives with the tests: it finds @afterward/core through the root tsconfig's
    // paths (the sources), not through bench's dist-only tsconfig. Its speed does not matter here.
    env: { ...process.env, TSX_TSCONFIG_PATH: undefined },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const started = new Promise<void>((resolve) =>
    child.on('message', (m: { type: string }) => m.type === 'started' && resolve()),
  )
  await new Promise<void>((resolve) =>
    child.on('message', (m: { type: string }) => m.type === 'ready' && resolve()),
  )
  const { id } = await afterward.enqueue(hold, undefined)
  await started
  // The survivor is up before the crash, as in a deployment with several workers.
  let killedAt = 0
  const rerun = new Promise<number>((resolve) =>
    afterward.on('started', (e) => e.jobId === id && resolve(performance.now() - killedAt)),
  )
  await afterward.worker(lock ?? {}).start()
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGKILL')
  killedAt = performance.now()
  await exited
  const ms = await rerun
  await afterward.jobs.wait(id)
  await afterward.close()
  return ms
}

const rows: string[][] = []
for (const [name, lock] of Object.entries(settings)) {
  const times: number[] = []
  for (let i = 0; i < runs; i++) times.push(await recovery(`orphans-${Date.now()}-${i}`, lock))
  const s = (ms: number) => `${(ms / 1_000).toFixed(1)} s`
  rows.push([
    name,
    s(median(times)),
    s(percentile(times, 99)),
    s(Math.min(...times)),
    times.map(s).join(' · '),
  ])
}
console.log(`\nCrash recovery on BullMQ (Redis): SIGKILL of a worker during a job, ${runs} runs`)
table(['settings', 'median', 'p99 (max)', 'min', 'runs'], rows)
await redis.stop()
