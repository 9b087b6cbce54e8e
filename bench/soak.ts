// The soak: steady load on the fault suite's deployment (a Fastify app, two worker processes, a
// Redis and a PostgreSQL of its own, a task that writes through prismaContext) while faults
// repeat — a worker killed with SIGKILL, CLIENT KILL of every Redis client, pg_terminate_backend
// of the task's connections — and what leaks would show: RSS, heap and open file descriptors of
// the app and the workers, and Redis and PostgreSQL client counts, at the start and at the end.
// Not part of `pnpm bench` (it runs for half an hour by default):
//   pnpm exec tsx --expose-gc bench/soak.ts     SOAK_MINUTES=30 RATE=100
// It loads the packages' sources, like the fault suite whose parts it uses (test/faults).
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { startDeployment } from '../test/faults/deployment.js'
import { startLoad } from '../test/faults/load.js'
import { migrateTestDatabase } from '../test/support/pg.js'
import { startPostgresServer } from '../test/support/pg-server.js'
import { startRedisServer } from '../test/support/redis.js'
import { table } from './stats.js'

const minutes = Number(process.env.SOAK_MINUTES ?? 30)
const rate = Number(process.env.RATE ?? 100)
/** One fault every this many ms, in turn. */
const faultEveryMs = 20_000
/** Load before the first sample, so that pools, JIT and caches have filled. */
const warmupMs = 30_000

interface Sample {
  appRss: number
  appHeap: number
  appFds: number
  workerRss: number
  workerFds: number
  redisClients: number
  pgConnections: number
}

const fdsOf = (pid: number | 'self') => readdirSync(`/proc/${pid}/fd`).length
const rssOf = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024

const dir = mkdtempSync(join(tmpdir(), 'aw-soak-'))
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
    effects: join(dir, 'effects.log'),
  })
  try {
    const sample = async (): Promise<Sample> => {
      // Settle first: no request in flight is counted as a leak.
      global.gc?.()
      const pids = deployment.workerPids()
      const clients = /connected_clients:(\d+)/.exec(await admin.info('clients'))?.[1]
      const [pgRow] = await postgres.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_stat_activity WHERE usename = 'app'`,
      )
      return {
        appRss: process.memoryUsage().rss,
        appHeap: process.memoryUsage().heapUsed,
        appFds: fdsOf('self'),
        workerRss: pids.reduce((sum, pid) => sum + rssOf(pid), 0),
        workerFds: pids.reduce((sum, pid) => sum + fdsOf(pid), 0),
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
    const totalMs = minutes * 60_000
    // Acknowledged jobs not yet seen to have run: the only per-job state the soak keeps, so that
    // the app's heap (this process) measures the app, not the load generator.
    const pending = new Set<string>()
    let requests = 0
    let acknowledged = 0
    const settle = () => {
      const effects = deployment.effects()
      for (const id of pending) if (effects.has(id)) pending.delete(id)
    }
    const load = startLoad({
      url: deployment.url,
      rate,
      maxMs: totalMs + 60_000,
      onAnswer: (s) => {
        requests++
        if (s.jobId === undefined) return
        acknowledged++
        pending.add(s.jobId)
      },
    })
    let start: Sample
    let injected = 0
    try {
      await sleep(warmupMs)
      settle()
      start = await sample()
      const began = Date.now()
      console.log(
        `soak: ${minutes} min at ${rate} requests/s, a fault every ${faultEveryMs / 1_000} s`,
      )
      for (let i = 0; Date.now() - began + faultEveryMs <= totalMs - warmupMs; i++) {
        await sleep(faultEveryMs)
        const [name, inject] = faults[i % faults.length]!
        await inject().catch((error: unknown) => console.log(`${name}: ${String(error)}`))
        injected++
        settle()
      }
      // The last fault's effects (a worker restarting) are over before the last sample.
      await sleep(Math.max(0, totalMs - warmupMs - (Date.now() - began)))
    } finally {
      await load.stop()
    }
    // The backlog drains and the killed worker is back before the end sample.
    const deadline = Date.now() + 60_000
    for (settle(); pending.size > 0 && Date.now() < deadline; settle()) await sleep(500)
    await sleep(15_000)
    const end = await sample()
    const lost = pending.size
    const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`
    const row = (name: string, key: keyof Sample, format: (n: number) => string = String) => [
      name,
      format(start[key]),
      format(end[key]),
      `${(((end[key] - start[key]) / Math.max(start[key], 1)) * 100).toFixed(1)} %`,
    ]
    console.log(
      `\n${requests} requests, ${acknowledged} acknowledged, ${lost} lost, ${injected} faults`,
    )
    table(
      ['measure', 'start', 'end', 'growth'],
      [
        row('app RSS', 'appRss', mb),
        row('app heap used', 'appHeap', mb),
        row('app open fds', 'appFds'),
        row('workers RSS (both)', 'workerRss', mb),
        row('workers open fds (both)', 'workerFds'),
        row('Redis clients', 'redisClients'),
        row('PostgreSQL connections (task)', 'pgConnections'),
      ],
    )
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
