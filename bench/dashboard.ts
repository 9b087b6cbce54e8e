// The dashboard's pages against a store holding 100,000 jobs: how long a request's page, a job's
// page and a search take, served by startDashboard over HTTP as a browser would load them.
//   pnpm exec tsx bench/dashboard.ts    # BENCH_JOBS=100000 BENCH_RUNS=30
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { pino } from 'pino'
import { bullmq, createAfterward, defineTask } from '@afterward/core'
import { startDashboard } from '@afterward/dashboard'
import { report, sample } from './stats.js'

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const total = Number(process.env.BENCH_JOBS ?? 100_000)
const runs = Number(process.env.BENCH_RUNS ?? 30)
const prefix = `bench-${randomUUID().slice(0, 8)}`
const perRequest = 10

const task = defineTask({ name: 'bench-email', run: (_input: { n: number }) => undefined })
const afterward = createAfterward({
  tasks: [task],
  driver: bullmq({ connection: url, prefix }),
  logger: pino({ level: 'silent' }),
})

// Fill: `total` waiting jobs in requests of 10, 50 requests stored at a time. The request and
// the job looked up are in the middle of the store.
const requests = Math.ceil(total / perRequest)
let target = { requestId: '', jobId: '' }
const filling = performance.now()
for (let start = 0; start < requests; start += 50) {
  await Promise.all(
    Array.from({ length: Math.min(50, requests - start) }, async (_, i) => {
      const requestId = randomUUID()
      const scope = afterward.scope({ requestId })
      const ids = Array.from({ length: perRequest }, (_, n) => scope.defer(task, { n }).id)
      await scope.flush()
      if (start + i === Math.floor(requests / 2)) target = { requestId, jobId: ids[0]! }
    }),
  )
}
console.log(
  `\nstored ${requests * perRequest} jobs in ${((performance.now() - filling) / 1000).toFixed(1)} s`,
)

const auth = { username: 'bench', password: 'bench' }
const dashboard = await startDashboard({ afterward, port: 0, auth })
const headers = { authorization: `Basic ${Buffer.from('bench:bench').toString('base64')}` }
const load = (path: string) => async () => {
  const res = await fetch(dashboard.url + path, { headers, redirect: 'manual' })
  await res.text()
  if (res.status !== 200 && res.status !== 303) throw new Error(`${path}: ${res.status}`)
}

report(`Dashboard pages, ${requests * perRequest} waiting jobs on local Redis (${runs} runs)`, [
  {
    name: 'request view, 10 jobs',
    times: await sample(load(`/requests/${target.requestId}`), runs, 5),
  },
  { name: 'job view', times: await sample(load(`/jobs/${target.jobId}`), runs, 5) },
  {
    name: 'search by request id',
    times: await sample(load(`/search?q=${target.requestId}`), runs, 5),
  },
  { name: 'overview (counts, failed)', times: await sample(load('/'), runs, 5) },
  {
    name: 'list of waiting jobs, page 1',
    times: await sample(load('/jobs?state=waiting'), Math.min(runs, 5), 1),
  },
])

await dashboard.close()
await afterward.close()
const connection = new Redis(url)
let cursor = '0'
do {
  const [next, keys] = await connection.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
  if (keys.length > 0) await connection.del(...keys)
  cursor = next
} while (cursor !== '0')
await connection.quit()
