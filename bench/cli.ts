// `afterward request <id>` against a store holding many jobs: a private Redis filled with JOBS
// jobs (2 per request) in Afterward's own layout, then the built CLI run as a user runs it (a
// process per lookup, read-only from --redis), RUNS times; and the lookup alone in-process
// (`jobs.byRequest`), to tell Node's start-up from the lookup.
//   pnpm build && TSX_TSCONFIG_PATH=bench/tsconfig.run.json pnpm exec tsx bench/cli.ts
//   (JOBS=100000 RUNS=10; smoke run: JOBS=2000 RUNS=2)
import { execFile } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { pino } from 'pino'
import { bullmq, createAfterward, type JobRecord } from '@afterward/core'
import { startRedisServer } from '../test/support/redis.js'
import { median, percentile, table } from './stats.js'

const jobs = Number(process.env.JOBS ?? 100_000)
const runs = Number(process.env.RUNS ?? 10)
const perRequest = 2
const batch = 2_000 // records per enqueue: one addBulk and one ZADD of the request index
const bin = fileURLToPath(new URL('../packages/cli/dist/bin.js', import.meta.url))
const run = promisify(execFile)

const redis = await startRedisServer()
const prefix = 'bench'
const driver = bullmq({ connection: redis.url, prefix })
const afterward = createAfterward({ tasks: [], driver, logger: pino({ level: 'silent' }) })

const record = (requestId: string, n: number): JobRecord => ({
  id: randomUUID(),
  task: n % 2 === 0 ? 'send-welcome-email' : 'charge-card',
  input: { userId: n, plan: 'pro' },
  requestId,
  createdAt: Date.now(),
  trace: undefined,
  options: {
    attempts: 3,
    backoff: { type: 'exponential', delay: 1_000, jitter: 0.2 },
    timeout: undefined,
    delay: 0,
    priority: 'normal',
    key: undefined,
    queue: n % 3 === 0 ? 'emails' : 'default',
  },
})

const fillStart = performance.now()
const requestIds: string[] = []
for (let stored = 0; stored < jobs; stored += batch) {
  const records: JobRecord[] = []
  for (let n = stored; n < Math.min(jobs, stored + batch); n++) {
    if (n % perRequest === 0) requestIds.push(`req-${randomUUID()}`)
    records.push(record(requestIds.at(-1)!, n))
  }
  await driver.enqueue(records)
}
const fillSeconds = (performance.now() - fillStart) / 1_000
console.log(`filled ${jobs} jobs (${requestIds.length} requests) in ${fillSeconds.toFixed(1)} s`)

// Requests spread over the fill: the first, the middle, the last, and random ones.
const targets = Array.from({ length: runs }, (_, i) =>
  i === 0
    ? requestIds[0]!
    : i === 1
      ? requestIds.at(-1)!
      : requestIds[Math.floor(Math.random() * requestIds.length)]!,
)
const cliTimes: number[] = []
const lookupTimes: number[] = []
for (const requestId of targets) {
  const start = performance.now()
  const { stdout } = await run(process.execPath, [
    bin,
    '--redis',
    redis.url,
    '--prefix',
    prefix,
    'request',
    requestId,
    '--json',
  ])
  cliTimes.push(performance.now() - start)
  const found = (JSON.parse(stdout) as { jobs: unknown[] }).jobs.length
  if (found !== perRequest)
    throw new Error(`request ${requestId}: ${found} jobs, expected ${perRequest}`)
  const lookup = performance.now()
  await afterward.jobs.byRequest(requestId)
  lookupTimes.push(performance.now() - lookup)
}
const startup: number[] = []
for (let i = 0; i < Math.min(runs, 5); i++) {
  const start = performance.now()
  await run(process.execPath, [bin, '--help'])
  startup.push(performance.now() - start)
}

table(
  ['what', 'runs', 'median', 'p95 / max'],
  [
    [
      `afterward request <id> (process, ${jobs} jobs stored)`,
      String(runs),
      `${median(cliTimes).toFixed(0)} ms`,
      `${percentile(cliTimes, 95).toFixed(0)} ms`,
    ],
    [
      'afterward --help (process start-up alone)',
      String(startup.length),
      `${median(startup).toFixed(0)} ms`,
      `${percentile(startup, 95).toFixed(0)} ms`,
    ],
    [
      'jobs.byRequest (in-process lookup)',
      String(runs),
      `${median(lookupTimes).toFixed(1)} ms`,
      `${percentile(lookupTimes, 95).toFixed(1)} ms`,
    ],
  ],
)
await afterward.close()
await redis.stop()
