// The soak: steady load on the fault suite's deployment (a Fastify app in a process of its own,
// two worker processes, a Redis and a PostgreSQL of its own, a task that writes through
// prismaContext) while faults repeat — a worker killed with SIGKILL, CLIENT KILL of every Redis
// client, pg_terminate_backend of the task's connections — and what leaks would show: the app
// process's RSS, heap after a GC and open file descriptors by kind, the workers' RSS and fds, and
// Redis and PostgreSQL client counts, once a minute. This process holds the load generator, the
// worker supervisor and the admin clients; the app process holds the app alone.
// Not part of `pnpm bench` (it runs for half an hour by default):
//   pnpm exec tsx --expose-gc bench/soak.ts     SOAK_MINUTES=30 RATE=100 SOAK_WARMUP_S=120
// (--expose-gc for this process's own heap; the app and the workers always run with it).
// It loads the packages' sources, like the fault suite whose parts it uses (test/faults).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { startDeployment } from '../test/faults/deployment.js'
import { startLoad } from '../test/faults/load.js'
import { migrateTestDatabase } from '../test/support/pg.js'
import { startPostgresServer } from '../test/support/pg-server.js'
import { startRedisServer } from '../test/support/redis.js'
import { effectsTail } from './effects-tail.js'
import { fdKindNames, fdKinds, rssOf, type FdKinds, type Ports } from './proc-fds.js'
import { table } from './stats.js'

const minutes = Number(process.env.SOAK_MINUTES ?? 30)
const rate = Number(process.env.RATE ?? 100)
/** One fault every this many ms, in turn: three faults a minute. */
const faultEveryMs = 20_000
/**
 * Load before the first sample, so that pools, JIT and caches have filled. The first sample's
 * forced GC still leaves the app with half its heap for about a minute (its RSS and heap total
 * read low, whatever the warm-up): the growth table starts at the third sample.
 */
const warmupMs = Number(process.env.SOAK_WARMUP_S ?? 120) * 1_000
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1)

interface Sample {
  label: string
  app: NodeJS.MemoryUsage
  appFds: FdKinds
  /** This process: the load generator, the worker supervisor, the admin clients. */
  harnessRss: number
  harnessHeapUsed: number
  /** The load generator's HTTP connections to the app. */
  loadConnections: number
  workerRss: number
  workerFds: number
  /** Worker 1, never killed (the faults kill worker 0). */
  steadyWorker: NodeJS.MemoryUsage
  redisClients: number
  pgConnections: number
}

const dir = mkdtempSync(join(tmpdir(), 'aw-soak-'))
const effectsFile = join(dir, 'effects.log')
const redis = await startRedisServer({ appendonly: 'yes', 'maxmemory-policy': 'noeviction' })
const postgres = await startPostgresServer()
const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 })
try {
  await postgres.query('CREATE ROLE app LOGIN')
  await postgres.query('CREATE DATABASE soak OWNER app')
  await migrateTestDatabase(postgres.url('soak', 'app'))
  const deployment = await startDeployment({
    driver: { connection: redis.url, requireNoEviction: true },
    db: postgres.url('soak', 'app'),
    workers: 2,
    concurrency: 10,
    effects: effectsFile,
  })
  const ports: Ports = {
    redis: redis.port,
    postgres: postgres.port,
    http: Number(new URL(deployment.url).port),
  }
  try {
    const sample = async (label: string): Promise<Sample> => {
      // Fds first, the app's and the load generator's together: the GC below pauses the app,
      // and the load generator opens connections while it waits.
      const appFds = fdKinds(deployment.appPid, ports)
      if (appFds === undefined) throw new Error('the app process is gone')
      const loadConnections = fdKinds(process.pid, ports)!.httpOut
      const app = await deployment.appMemory()
      const steadyWorker = await deployment.workerMemory(1)
      global.gc?.()
      const pids = [0, 1].flatMap((i) => deployment.workerPid(i) ?? [])
      const clients = /connected_clients:(\d+)/.exec(await admin.info('clients'))?.[1]
      const [pgRow] = await postgres.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_stat_activity WHERE usename = 'app'`,
      )
      return {
        label,
        app,
        appFds,
        harnessRss: process.memoryUsage().rss,
        harnessHeapUsed: process.memoryUsage().heapUsed,
        loadConnections,
        workerRss: pids.reduce((sum, pid) => sum + rssOf(pid), 0),
        workerFds: pids.reduce((sum, pid) => sum + (fdKinds(pid, ports)?.total ?? 0), 0),
        steadyWorker,
        // Less the admin connection that asks.
        redisClients: Number(clients ?? 0) - 1,
        pgConnections: Number(pgRow?.n ?? 0),
      }
    }
    const faults: [string, () => Promise<unknown>][] = [
      ['worker kill -9', () => deployment.killWorker(0, 'SIGKILL')],
      ['CLIENT KILL', () => admin.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes')],
      [
        'pg_terminate_backend',
        () =>
          postgres.query(
            `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'app'`,
          ),
      ],
    ]
    // Acknowledged jobs not yet seen to have run, and jobs seen to have run before their answer
    // was read (or run twice): the only per-job state the soak keeps.
    const pending = new Set<string>()
    const ranFirst = new Set<string>()
    let requests = 0
    let acknowledged = 0
    const ran = effectsTail(effectsFile)
    const settle = () => {
      for (const id of ran()) if (!pending.delete(id)) ranFirst.add(id)
    }
    const load = startLoad({
      url: deployment.url,
      rate,
      maxMs: warmupMs + minutes * 60_000 + 60_000,
      onAnswer: (s) => {
        requests++
        if (s.jobId === undefined) return
        acknowledged++
        if (!ranFirst.delete(s.jobId)) pending.add(s.jobId)
      },
    })
    const samples: Sample[] = []
    let injected = 0
    try {
      await sleep(warmupMs)
      settle()
      samples.push(await sample('0'))
      const began = Date.now()
      console.log(
        `soak: ${minutes} min at ${rate} requests/s after ${warmupMs / 1_000} s of warm-up, ` +
          `a fault every ${faultEveryMs / 1_000} s, a sample every minute`,
      )
      const ticksPerMinute = 60_000 / faultEveryMs
      for (let tick = 1; ; tick++) {
        await sleep(Math.max(0, began + tick * faultEveryMs - Date.now()))
        // Each minute's sample comes before that tick's fault: always at the same point of the
        // cycle (20 s after a CLIENT KILL, 40 s after a worker kill).
        if (tick % ticksPerMinute === 0) samples.push(await sample(String(tick / ticksPerMinute)))
        settle()
        if (tick * faultEveryMs >= minutes * 60_000) break
        const [name, inject] = faults[(tick - 1) % faults.length]!
        await inject().catch((error: unknown) => console.log(`${name}: ${String(error)}`))
        injected++
      }
    } finally {
      await load.stop()
    }
    // The backlog drains and the killed worker is back; then one sample without load.
    const deadline = Date.now() + 60_000
    for (settle(); pending.size > 0 && Date.now() < deadline; settle()) await sleep(500)
    await sleep(15_000)
    samples.push(await sample('idle'))
    const lost = pending.size
    report(samples, { requests, acknowledged, lost, injected })
    if (lost > 0) process.exitCode = 1
  } finally {
    await deployment.close()
  }
} finally {
  admin.disconnect()
  await redis.stop()
  await postgres.stop()
  rmSync(dir, { recursive: true, force: true })
}

function report(
  samples: readonly Sample[],
  counts: { requests: number; acknowledged: number; lost: number; injected: number },
): void {
  const { requests, acknowledged, lost, injected } = counts
  console.log(
    `\n${requests} requests, ${acknowledged} acknowledged, ${lost} lost, ${injected} faults`,
  )
  // Only the kinds of fd the app had at some point: the others were 0 throughout.
  const kinds = fdKindNames.filter((kind) => samples.some((s) => s.appFds[kind] > 0))
  const idle = '"idle" is after the load has stopped and the backlog has drained'
  console.log(
    `\nThe app process, a sample a minute (MB; heap after a GC; open fds by kind); ${idle}`,
  )
  table(
    ['min', 'RSS', 'heap used', 'heap total', 'external', 'fds', ...kinds, 'close-wait'],
    samples.map((s) => [
      s.label,
      mb(s.app.rss),
      mb(s.app.heapUsed),
      mb(s.app.heapTotal),
      mb(s.app.external),
      String(s.appFds.total),
      ...kinds.map((kind) => String(s.appFds[kind])),
      String(s.appFds.closeWait),
    ]),
  )
  console.log(
    '\nAround it: Redis clients and PostgreSQL connections (app and workers), the load ' +
      "generator's HTTP connections, the soak process (load generator, supervisor, admin " +
      'clients), worker 1 (never killed), both workers (MB)',
  )
  table(
    [
      'min',
      'Redis clients',
      'PG conns',
      'load conns',
      'soak RSS',
      'soak heap',
      'worker 1 RSS',
      'worker 1 heap',
      'workers RSS',
      'workers fds',
    ],
    samples.map((s) => [
      s.label,
      String(s.redisClients),
      String(s.pgConnections),
      String(s.loadConnections),
      mb(s.harnessRss),
      mb(s.harnessHeapUsed),
      mb(s.steadyWorker.rss),
      mb(s.steadyWorker.heapUsed),
      mb(s.workerRss),
      String(s.workerFds),
    ]),
  )
  // Start and end are both under load (the last minute's sample), so that they compare alike.
  // The start is the third sample when there are enough: the first one's forced GC leaves the
  // app with half its heap for about a minute, which reads as growth that is not there.
  const start = samples.length > 4 ? samples[2]! : samples[0]!
  const end = samples.at(-2)!
  const row = (
    name: string,
    pick: (s: Sample) => number,
    format: (n: number) => string = String,
  ) => {
    const [a, b] = [pick(start), pick(end)]
    return [name, format(a), format(b), `${(((b - a) / Math.max(a, 1)) * 100).toFixed(1)} %`]
  }
  const inMb = (n: number) => `${mb(n)} MB`
  table(
    ['measure', `start (minute ${start.label})`, `end (minute ${end.label})`, 'growth'],
    [
      row('app RSS', (s) => s.app.rss, inMb),
      row('app heap used (after GC)', (s) => s.app.heapUsed, inMb),
      row('app heap total', (s) => s.app.heapTotal, inMb),
      row('app external', (s) => s.app.external, inMb),
      row('app open fds', (s) => s.appFds.total),
      row('app Redis connections', (s) => s.appFds.redis),
      row('app HTTP connections (accepted)', (s) => s.appFds.httpIn),
      row('app fds other than HTTP connections', (s) => s.appFds.total - s.appFds.httpIn),
      row('worker 1 RSS (never killed)', (s) => s.steadyWorker.rss, inMb),
      row('worker 1 heap used (after GC)', (s) => s.steadyWorker.heapUsed, inMb),
      row('workers RSS (both)', (s) => s.workerRss, inMb),
      row('workers open fds (both)', (s) => s.workerFds),
      row('Redis clients (app and workers)', (s) => s.redisClients),
      row('PostgreSQL connections (task)', (s) => s.pgConnections),
    ],
  )
}
