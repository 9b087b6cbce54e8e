// One deployment under test: a real Fastify app (reply.defer) listening on a port of its own,
// and worker child processes kept alive by a small supervisor (a killed worker is started again,
// as systemd or Kubernetes would), all on one broker: bullmq() on Redis or on PostgreSQL.
import { fork, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import Fastify, { type FastifyInstance } from 'fastify'
import { pino } from 'pino'
import { bullmq, createAfterward, type Afterward, type BullmqDriverOptions } from '@afterward/core'
import afterwardPlugin from '@afterward/fastify'
import { record } from './task.js'

const workerFile = fileURLToPath(new URL('./worker.ts', import.meta.url))

export interface DeploymentOptions {
  driver: BullmqDriverOptions
  /** The task's database (Prisma), if it uses one. */
  db?: string
  workers: number
  concurrency: number
  /** The file the task appends its effects to. */
  effects: string
}

/** When a job's effect was first recorded, and how many runs recorded it. */
export interface Effect {
  first: number
  runs: number
  /** A run knew (ctx.job.redelivered) that an earlier run was cut off. */
  redelivered: boolean
}

export interface Deployment {
  /** `http://127.0.0.1:<port>` of the app. */
  readonly url: string
  /** The app's Afterward instance, to look up a job that went missing. */
  readonly afterward: Afterward
  /**
   * Sends `signal` to worker `index` once it has runs in progress (within 5 s), so that the kill
   * cuts some off; resolves once it has exited (the supervisor restarts it).
   */
  killWorker(index: number, signal: NodeJS.Signals): Promise<void>
  /** The effects recorded so far, by job id. */
  effects(): Map<string, Effect>
  /** Process ids of the workers running now. */
  workerPids(): number[]
  close(): Promise<void>
}

/** Starts the app and `options.workers` workers; resolves once all are ready. */
export async function startDeployment(options: DeploymentOptions): Promise<Deployment> {
  const workers: (ChildProcess | undefined)[] = []
  let closing = false

  const spawnWorker = (index: number): Promise<void> => {
    const child = fork(workerFile, [], {
      execArgv: ['--import', 'tsx'],
      env: {
        ...process.env,
        FAULTS_WORKER: JSON.stringify({
          driver: options.driver,
          db: options.db,
          concurrency: options.concurrency,
        }),
        FAULTS_EFFECTS: options.effects,
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    workers[index] = child
    child.once('exit', () => {
      if (workers[index] === child) workers[index] = undefined
      // The supervisor: a worker that died (crash, kill, SIGTERM) is replaced after 500 ms.
      if (!closing) setTimeout(() => !closing && void spawnWorker(index).catch(() => {}), 500)
    })
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${index} not ready in 60 s`)), 60_000)
      child.once('message', () => {
        clearTimeout(timer)
        resolve()
      })
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        reject(new Error(`worker ${index} exited before it was ready (${signal ?? code})`))
      })
    })
  }

  const afterward = createAfterward({
    tasks: [record],
    driver: bullmq(options.driver),
    logger: pino({ level: 'silent' }),
  })
  const app: FastifyInstance = Fastify()
  let started = false
  try {
    await app.register(afterwardPlugin, { afterward })
    app.post<{ Body: { n: number } }>('/orders', async (request, reply) => {
      const job = reply.defer(record, { n: request.body.n })
      return { jobId: job.id }
    })
    const url = await app.listen({ port: 0, host: '127.0.0.1' })
    await Promise.all(Array.from({ length: options.workers }, (_, i) => spawnWorker(i)))
    started = true

    return {
      url,
      afterward,
      async killWorker(index, signal) {
        const child = workers[index]
        if (child === undefined || child.exitCode !== null) return
        for (const deadline = Date.now() + 5_000; Date.now() < deadline;) {
          if ((await runningIn(child)) > 0) break
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
        child.kill(signal)
        await exited
      },
      effects: () => readEffects(options.effects),
      workerPids: () =>
        workers.flatMap((child) =>
          child?.pid === undefined || child.exitCode !== null ? [] : [child.pid],
        ),
      close: () => close(),
    }
  } finally {
    if (!started) await close()
  }

  async function close(): Promise<void> {
    closing = true
    await Promise.all(
      workers.map(async (child) => {
        if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
        child.kill('SIGCONT')
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
        await exited
        clearTimeout(timer)
      }),
    )
    await app.close()
  }
}

/** How many runs worker `child` has in progress (0 if it does not answer within 1 s). */
function runningIn(child: ChildProcess): Promise<number> {
  if (!child.connected) return Promise.resolve(0)
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(0), 1_000)
    const listener = (message: { type?: string; count?: number }) => {
      if (message.type === 'running') done(message.count ?? 0)
    }
    function done(count: number) {
      clearTimeout(timer)
      child.off('message', listener)
      resolve(count)
    }
    child.on('message', listener)
    child.send('running?', (error) => error && done(0))
  })
}

function readEffects(file: string): Map<string, Effect> {
  const effects = new Map<string, Effect>()
  if (!existsSync(file)) return effects
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [id, at, how] = line.split(' ')
    if (id === undefined || at === undefined) continue
    const seen = effects.get(id) ?? { first: Number(at), runs: 0, redelivered: false }
    seen.runs++
    seen.redelivered ||= how === 'redelivered'
    effects.set(id, seen)
  }
  return effects
}
