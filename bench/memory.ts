// Throughput of memory(): defer + flush, a worker draining queued jobs, and both end to end, each
// against a plain async loop over the same number of work items, measured in the same run.
//   pnpm exec tsx bench/memory.ts   (JOBS=100000 BENCH_RUNS=5)
import { pino, type Logger } from 'pino'
import { Registry } from 'prom-client'
import {
  createAfterward,
  defineTask,
  memory,
  type Afterward,
  AFTERWARD_EVENTS,
} from '@afterward/core'
import { afterwardMetrics } from '@afterward/prometheus'
import { reportRate, sampleTimed, timed } from './stats.js'

const jobs = Number(process.env.JOBS ?? 100_000)
const runs = Number(process.env.BENCH_RUNS ?? 5)
const silent = pino({ level: 'silent' })
// The default level, writing every line for real, to a sink that costs no terminal.
const info = pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: true }))

let sink = 0
const noop = (i: number): Promise<void> => {
  sink += i
  return Promise.resolve()
}
const task = defineTask({ name: 'noop', run: (input: { i: number }) => void noop(input.i) })
// Most real tasks are async: their promise is raced against the deadline and shutdown.
const asyncTask = defineTask({ name: 'async-noop', run: (input: { i: number }) => noop(input.i) })
type NoopTask = typeof task | typeof asyncTask

let heard = 0

/**
 * `listening`: a no-op listener on every lifecycle event, to price the events themselves;
 * `'metrics'`: @afterward/prometheus counting every job, to price the metrics.
 */
function instance(
  logger: Logger = silent,
  listening: boolean | 'metrics' = false,
): { afterward: Afterward; drain(): Promise<void> } {
  // keepFinished at its default: past 10,000 jobs the bench pays for eviction too.
  const driver = memory()
  const afterward = createAfterward({ tasks: [task, asyncTask], driver, logger })
  if (listening === true)
    for (const name of AFTERWARD_EVENTS) afterward.on(name, () => void heard++)
  if (listening === 'metrics') afterwardMetrics({ afterward, registry: new Registry() })
  return { afterward, drain: () => driver.drain() }
}

/** Defers `jobs` jobs in scopes of `size`, flushing (and awaiting) each scope in turn. */
async function deferAll(afterward: Afterward, size: number, t: NoopTask = task): Promise<void> {
  for (let i = 0; i < jobs; i += size) {
    const scope = afterward.scope({ requestId: `req-${i}` })
    for (let j = i; j < Math.min(jobs, i + size); j++) scope.defer(t, { i: j })
    await scope.flush()
  }
}

/** The baseline producer: one awaited call per item, as `deferAll` awaits per scope. */
async function plainLoop(): Promise<void> {
  for (let i = 0; i < jobs; i++) await noop(i)
}

/** The baseline consumer: `concurrency` loops sharing the items, as a worker's slots do. */
async function plainPool(concurrency: number): Promise<void> {
  let next = 0
  const lane = async (): Promise<void> => {
    while (next < jobs) await noop(next++)
  }
  await Promise.all(Array.from({ length: concurrency }, lane))
}

const deferFlush = (size: number, logger?: Logger) => () => {
  const { afterward } = instance(logger)
  return timed(() => deferAll(afterward, size)).finally(() => afterward.close())
}

const drainWith = (concurrency: number, logger?: Logger, t?: NoopTask) => async () => {
  const { afterward, drain } = instance(logger)
  await deferAll(afterward, 1_000, t)
  const ms = await timed(async () => {
    await afterward.worker({ concurrency }).start()
    await drain()
  })
  await afterward.close()
  return ms
}

const endToEnd =
  (size: number, concurrency: number, logger?: Logger, listening: boolean | 'metrics' = false) =>
  async () => {
    const { afterward, drain } = instance(logger, listening)
    await afterward.worker({ concurrency }).start()
    const ms = await timed(async () => {
      await deferAll(afterward, size)
      await drain()
    })
    await afterward.close()
    return ms
  }

const rows = (entries: [name: string, times: number[], baseline?: string][]) =>
  entries.map(([name, times, baseline]) => ({ name, times, items: jobs, baseline }))

const plain = 'plain loop: await noop(i)'
reportRate(
  `memory(): defer + flush, ${jobs} jobs per run, ${runs} runs`,
  'jobs',
  rows([
    [plain, await sampleTimed(() => timed(plainLoop), runs)],
    ['scopes of 1: defer + flush', await sampleTimed(deferFlush(1), runs), plain],
    ['scopes of 10: 10 defers + flush', await sampleTimed(deferFlush(10), runs), plain],
    ['scopes of 10, logger at info', await sampleTimed(deferFlush(10, info), runs), plain],
  ]),
)

const pool = (c: number): string => `plain pool: ${c} loops of await noop(i)`
const drainRows: [string, number[], string?][] = []
for (const c of [1, 10, 50]) {
  drainRows.push([pool(c), await sampleTimed(() => timed(() => plainPool(c)), runs)])
  drainRows.push([
    `worker concurrency ${c} + drain()`,
    await sampleTimed(drainWith(c), runs),
    pool(c),
  ])
}
drainRows.push([
  'concurrency 50, logger at info',
  await sampleTimed(drainWith(50, info), runs),
  pool(50),
])
drainRows.push([
  'concurrency 50, async task',
  await sampleTimed(drainWith(50, silent, asyncTask), runs),
  pool(50),
])
reportRate(`memory(): a worker drains ${jobs} queued jobs, ${runs} runs`, 'jobs', rows(drainRows))

const both = 'plain loop, then plain pool of 50'
const plainBoth = () =>
  timed(async () => {
    await plainLoop()
    await plainPool(50)
  })
reportRate(
  `memory(): defer + flush + run, worker concurrency 50, ${jobs} jobs per run, ${runs} runs`,
  'jobs',
  rows([
    [both, await sampleTimed(plainBoth, runs)],
    ['scopes of 1', await sampleTimed(endToEnd(1, 50), runs), both],
    ['scopes of 10', await sampleTimed(endToEnd(10, 50), runs), both],
    ['scopes of 10, logger at info', await sampleTimed(endToEnd(10, 50, info), runs), both],
    [
      'scopes of 10, a listener on every event',
      await sampleTimed(endToEnd(10, 50, silent, true), runs),
      'scopes of 10',
    ],
    [
      'scopes of 10, @afterward/prometheus',
      await sampleTimed(endToEnd(10, 50, silent, 'metrics'), runs),
      'scopes of 10',
    ],
  ]),
)
if (sink < 0 || heard < 0) console.log(sink, heard) // keeps the work observable
