// The fault suite: "nothing acknowledged is lost". For each fault, a real Fastify app under a
// steady load, worker child processes, and a Redis (and a PostgreSQL) of the suite's own; the
// fault strikes during the load; then every acknowledged request's job must have run.
//   pnpm test:faults            the long form (every fault, longer outages; about 8 minutes)
//   pnpm test:faults --short    the short form that CI runs (under 3 minutes)
//   pnpm test:faults --only=SIGSTOP   the faults whose name contains SIGSTOP
// Prints one table; exits 1 when an acknowledged job was lost (beyond a documented loss), when a
// fault could not be run, or when nothing was acknowledged at all.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { BullmqDriverOptions } from '@afterward/core'
import { table } from '../../bench/stats.js'
import { migrateTestDatabase } from '../support/pg.js'
import { startPostgresServer, type PostgresServer } from '../support/pg-server.js'
import { startRedisServer, type RedisServer } from '../support/redis.js'
import { startDeployment, type Deployment } from './deployment.js'
import { faults, type Fault, type Form, type Window } from './faults.js'
import { startLoad, type Sent } from './load.js'

const form: Form = process.argv.includes('--short') ? 'short' : 'long'
const only = process.argv.find((arg) => arg.startsWith('--only='))?.slice('--only='.length)
const settings = {
  short: { rate: 50, beforeMs: 1_500, afterMs: 2_000, drainMs: 60_000 },
  long: { rate: 100, beforeMs: 3_000, afterMs: 5_000, drainMs: 120_000 },
}[form]
const workers = 2
const concurrency = 10

/** One row of the table. */
interface Outcome {
  fault: Fault
  sent: Sent[]
  acknowledged: number
  lost: string[]
  /** Lost, but within the fault's documented loss window. */
  lossAllowed: boolean
  duplicates: number
  /** Jobs run again after a run was cut off (crash, lost lock), as ctx.job.redelivered says. */
  redelivered: number
  maxLatencyMs: number
  recoveryMs: number | undefined
  error?: string
}

const selected = faults.filter(
  (fault) => fault.forms.includes(form) && (only === undefined || fault.name.includes(only)),
)
if (selected.length === 0) {
  console.error(`no fault matches --only=${only}`)
  process.exit(2)
}

// Interrupted: exit through the exit hooks that kill the servers (workers follow their parent).
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130))

const began = Date.now()
const postgres = await startPostgresServer()
const outcomes: Outcome[] = []
try {
  await postgres.query('CREATE ROLE app LOGIN')
  await postgres.query('CREATE DATABASE broker')
  for (const [index, fault] of selected.entries()) {
    console.log(`[${((Date.now() - began) / 1_000).toFixed(0)} s] ${fault.name} (${form})`)
    outcomes.push(await runFault(fault, index, postgres))
    const last = outcomes.at(-1)!
    if (last.error !== undefined) console.log(`  error: ${last.error}`)
  }
} finally {
  await postgres.stop()
}

const seconds = (ms: number | undefined) =>
  ms === undefined ? '–' : `${(ms / 1_000).toFixed(1)} s`
console.log(
  `\nFault suite, ${form} form: ${settings.rate} requests/s, ${workers} worker processes × concurrency ${concurrency}; ` +
    `recovery = from the fault's end until every job acknowledged up to then has run and the app acknowledges again`,
)
table(
  [
    'fault',
    'requests',
    'acknowledged',
    'lost',
    'duplicates',
    'redelivered',
    '503s',
    'no answer',
    'max latency',
    'recovery',
  ],
  outcomes.map((o) => [
    o.fault.name,
    String(o.sent.length),
    String(o.acknowledged),
    o.lost.length === 0 ? '0' : `${o.lost.length}${o.lossAllowed ? ' (documented)' : ' FAIL'}`,
    String(o.duplicates),
    String(o.redelivered),
    String(o.sent.filter((s) => s.status === 503).length),
    String(o.sent.filter((s) => s.status !== 503 && !(s.status >= 200 && s.status < 300)).length),
    seconds(o.maxLatencyMs),
    o.error === undefined ? seconds(o.recoveryMs) : 'ERROR',
  ]),
)
const failed = outcomes.filter(
  (o) => o.error !== undefined || (o.lost.length > 0 && !o.lossAllowed) || o.acknowledged === 0,
)
console.log(`\n${((Date.now() - began) / 1_000).toFixed(0)} s in all`)
if (failed.length > 0) {
  console.log(`FAILED: ${failed.map((o) => o.fault.name).join('; ')}`)
  process.exit(1)
}
console.log('passed: no acknowledged job lost')
process.exit(0)

async function runFault(fault: Fault, index: number, postgres: PostgresServer): Promise<Outcome> {
  const dir = mkdtempSync(join(tmpdir(), 'aw-faults-'))
  let redis: RedisServer | undefined
  let deployment: Deployment | undefined
  const outcome: Outcome = {
    fault,
    sent: [],
    acknowledged: 0,
    lost: [],
    lossAllowed: false,
    duplicates: 0,
    redelivered: 0,
    maxLatencyMs: 0,
    recoveryMs: undefined,
  }
  try {
    let driver: BullmqDriverOptions
    if (fault.broker === 'redis') {
      redis = await startRedisServer({
        appendonly: 'yes',
        appendfsync: 'everysec',
        'maxmemory-policy': 'noeviction',
        ...fault.redisConfig,
      })
      driver = { connection: redis.url, requireNoEviction: true }
    } else {
      driver = { postgres: { connectionString: postgres.url('broker'), schema: `faults_${index}` } }
    }
    let db: string | undefined
    if (fault.db === true) {
      await postgres.query(`CREATE DATABASE task_${index} OWNER app`)
      db = postgres.url(`task_${index}`, 'app')
      await migrateTestDatabase(db)
    }
    deployment = await startDeployment({
      driver,
      db,
      workers,
      concurrency,
      effects: join(dir, 'effects.log'),
    })

    const load = startLoad({ url: deployment.url, rate: settings.rate, maxMs: 180_000 })
    let window: Window
    try {
      await sleep(settings.beforeMs)
      window = await fault.inject({ form, deployment, redis, postgres, brokerDb: 'broker' })
      await sleep(settings.afterMs)
    } finally {
      outcome.sent = await load.stop()
    }
    const sent = outcome.sent
    const acked = sent.filter((s) => s.jobId !== undefined)
    outcome.acknowledged = acked.length
    outcome.maxLatencyMs = Math.max(0, ...sent.map((s) => s.end - s.start))

    // Every acknowledged job must run: poll the effects (written by other processes) until all
    // are there or the drain time is up.
    const deadline = Date.now() + settings.drainMs
    let effects = deployment.effects()
    while (acked.some((s) => !effects.has(s.jobId!)) && Date.now() < deadline) {
      await sleep(250)
      effects = deployment.effects()
    }
    outcome.lost = acked.filter((s) => !effects.has(s.jobId!)).map((s) => s.jobId!)
    outcome.duplicates = [...effects.values()].filter((e) => e.runs > 1).length
    outcome.redelivered = [...effects.values()].filter((e) => e.redelivered).length
    const lostAt = acked.filter((s) => !effects.has(s.jobId!)).map((s) => s.end)
    outcome.lossAllowed =
      fault.lossWindowMs !== undefined &&
      lostAt.every((at) => at >= window.start - fault.lossWindowMs! && at <= window.start)
    for (const id of outcome.lost.slice(0, 3)) {
      const job = await deployment.job(id).catch(() => undefined)
      console.log(`  lost ${id}: ${job === undefined ? 'not in the broker' : JSON.stringify(job)}`)
    }

    // Recovery: from the fault's end until the app acknowledges again and every job acknowledged
    // up to the fault's end has run.
    const failedSince = sent.filter((s) => s.jobId === undefined && s.end >= window.start)
    const answering = Math.max(window.end, ...failedSince.map((s) => s.end))
    const ran = acked
      .filter((s) => s.end <= window.end && effects.has(s.jobId!))
      .map((s) => effects.get(s.jobId!)!.first)
    outcome.recoveryMs = Math.max(0, answering - window.end, Math.max(...ran, 0) - window.end)
  } catch (error) {
    outcome.error = error instanceof Error ? error.message : String(error)
  } finally {
    await deployment?.close().catch((error: unknown) => {
      outcome.error ??= `close: ${String(error)}`
    })
    await redis?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
  return outcome
}
