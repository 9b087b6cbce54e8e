// Requests per second of a deferring route against a hand-written `await queue.add` route and a
// bare route, measured as a user would: the server in a process of its own, autocannon in
// another, a Redis of the benchmark's own, the variants interleaved over several runs.
//   pnpm exec tsx bench/http.ts     (RUNS=3, DURATION=10 s, CONNECTIONS=100, VARIANTS=a,b,...)
import { fork, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { startRedisServer } from '../test/support/redis.js'
import { VARIANTS, type ServerMessage, type Variant } from './http-variants.js'
import { median, table } from './stats.js'

const runs = Number(process.env.RUNS ?? 3)
const duration = Number(process.env.DURATION ?? 10)
const warmup = Number(process.env.WARMUP ?? 3)
const connections = Number(process.env.CONNECTIONS ?? 100)
// After the timed runs, each deferring variant serves this many more requests in one go, with
// the heap measured (after a full GC) before and after: a leak shows there, a cache does not.
const heapRequests = Number(process.env.HEAP_REQUESTS ?? 100_000)
const variants = process.env.VARIANTS
  ? VARIANTS.filter((v) => process.env.VARIANTS!.split(',').includes(v))
  : VARIANTS
const autocannonBin = createRequire(import.meta.url).resolve('autocannon/autocannon.js')
const serverFile = fileURLToPath(new URL('./http-server.ts', import.meta.url))
// The servers load the packages' built dist/, as an app does (`pnpm bench` builds first).
const runTsconfig = fileURLToPath(new URL('./tsconfig.run.json', import.meta.url))

interface Sample {
  rps: number
  p50: number
  p99: number
  errors: number
  cpuPerRequest: number
  redisCpuPerRequest: number
}

/** The server of one variant, in its own process; resolves once it listens. */
async function startServer(
  variant: Variant,
  redisUrl: string,
): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(serverFile, [variant, redisUrl], {
    execArgv: ['--import', 'tsx', '--expose-gc'],
    env: { ...process.env, TSX_TSCONFIG_PATH: runTsconfig },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  })
  const [message] = (await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`server '${variant}' exited (${String(code)}) before listening`)
    }),
  ])) as [ServerMessage]
  if (message.type !== 'ready') throw new Error(`unexpected message ${JSON.stringify(message)}`)
  return { child, port: message.port }
}

async function usage(child: ChildProcess): Promise<{ cpuMicros: number; heapBytes: number }> {
  child.send({ type: 'usage' })
  const [message] = (await once(child, 'message')) as [ServerMessage]
  if (message.type !== 'usage') throw new Error(`unexpected message ${JSON.stringify(message)}`)
  return message
}

interface AutocannonResult {
  requests: { average: number; total: number }
  latency: { p50: number; p99: number }
  errors: number
  timeouts: number
  non2xx: number
}

/** autocannon in a process of its own against the server, for `seconds` (or `amount` requests). */
async function load(port: number, seconds: number, amount?: number): Promise<AutocannonResult> {
  const child = spawn(
    process.execPath,
    [
      autocannonBin,
      ...(amount === undefined ? ['-d', String(seconds)] : ['-a', String(amount)]),
      ...['-c', String(connections), '-j', '-m', 'POST'],
      ...['-H', 'content-type=application/json', '-b', '{"userId":1}'],
      `http://127.0.0.1:${port}/jobs`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let out = ''
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')))
  const [code] = (await once(child, 'exit')) as [number | null]
  if (code !== 0) throw new Error(`autocannon exited with ${String(code)}`)
  return JSON.parse(out) as AutocannonResult
}

/** CPU time the private Redis has used so far, in µs. */
async function redisCpu(admin: Redis): Promise<number> {
  const info = await admin.info('cpu')
  const seconds = (name: string): number => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1])
  return (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1e6
}

async function measure(variant: Variant, redisUrl: string, admin: Redis): Promise<Sample> {
  const { child, port } = await startServer(variant, redisUrl)
  try {
    await load(port, warmup)
    const before = await usage(child)
    const redisBefore = await redisCpu(admin)
    const result = await load(port, duration)
    const redisAfter = await redisCpu(admin)
    const after = await usage(child)
    const total = result.requests.total
    return {
      rps: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      errors: result.errors + result.timeouts + result.non2xx,
      cpuPerRequest: (after.cpuMicros - before.cpuMicros) / total,
      redisCpuPerRequest: (redisAfter - redisBefore) / total,
    }
  } finally {
    child.kill('SIGKILL')
    await once(child, 'exit').catch(() => undefined)
  }
}

/** Heap growth of a server over `heapRequests` requests, after a warm-up of the same size. */
async function heapGrowth(variant: Variant, redisUrl: string): Promise<number> {
  const { child, port } = await startServer(variant, redisUrl)
  try {
    await load(port, 0, heapRequests)
    const before = await usage(child)
    await load(port, 0, heapRequests)
    const after = await usage(child)
    return after.heapBytes - before.heapBytes
  } finally {
    child.kill('SIGKILL')
    await once(child, 'exit').catch(() => undefined)
  }
}

const redis = await startRedisServer()
const admin = new Redis(redis.url)
const samples = new Map<Variant, Sample[]>(variants.map((v) => [v, []]))
const heap = new Map<Variant, number>()
try {
  console.log(
    `\nHTTP, cross-process: ${connections} connections, ${duration} s per run after ${warmup} s of warm-up, ${runs} interleaved runs, private Redis on port ${redis.port}`,
  )
  for (let run = 1; run <= runs; run++) {
    for (const variant of variants) {
      const sample = await measure(variant, redis.url, admin)
      samples.get(variant)!.push(sample)
      await admin.flushall()
      console.log(
        `  run ${run}  ${variant.padEnd(28)} ${Math.round(sample.rps).toString().padStart(6)} req/s  p50 ${sample.p50} ms  p99 ${sample.p99} ms${sample.errors ? `  ${sample.errors} errors` : ''}`,
      )
    }
  }
  if (heapRequests > 0) {
    for (const variant of variants.filter((v) => v.includes('defer'))) {
      heap.set(variant, await heapGrowth(variant, redis.url))
      await admin.flushall()
    }
  }
} finally {
  await admin.quit()
  await redis.stop()
}

// Ratios are computed per run (the variants of one run saw the same machine), then the median.
const ratio = (variant: Variant, baseline: Variant): string => {
  const a = samples.get(variant)
  const b = samples.get(baseline)
  if (!a || !b || a === b) return ''
  const perRun = a.map((s, i) => s.rps / b[i]!.rps)
  return `${median(perRun).toFixed(2)}× ${baseline.split(' ').slice(1).join(' ')} (${Math.min(...perRun).toFixed(2)}-${Math.max(...perRun).toFixed(2)})`
}
const baselineOf = (v: Variant): Variant[] => {
  const [framework, kind, driver, extra] = v.split(' ')
  // With metrics: against the same route without them (the cost must stay within 3 %).
  if (extra === 'metrics') return [`${framework} ${kind} ${driver}` as Variant]
  if (kind === 'bare') return []
  if (kind === 'queue.add' || driver === 'memory') return [`${framework} bare` as Variant]
  return [`${framework} queue.add` as Variant, `${framework} bare` as Variant]
}
table(
  [
    'route',
    'req/s (runs)',
    'median',
    'ratio (per-run median, spread)',
    'p50',
    'p99',
    'server CPU/req',
    'Redis CPU/req',
    `heap after ${heapRequests / 1000}k more req`,
  ],
  variants.map((v) => {
    const s = samples.get(v)!
    return [
      v,
      s.map((x) => `${(x.rps / 1000).toFixed(1)}k`).join(' · '),
      `${(median(s.map((x) => x.rps)) / 1000).toFixed(1)}k`,
      baselineOf(v)
        .filter((b) => samples.has(b))
        .map((b) => ratio(v, b))
        .join('; '),
      `${median(s.map((x) => x.p50))} ms`,
      `${median(s.map((x) => x.p99))} ms`,
      `${median(s.map((x) => x.cpuPerRequest)).toFixed(0)} µs`,
      `${median(s.map((x) => x.redisCpuPerRequest)).toFixed(0)} µs`,
      heap.has(v) ? `${(heap.get(v)! / 1e6).toFixed(1)} MB` : '',
    ]
  }),
)
