// One deployment under test: a real Fastify app (reply.defer) in a child process of its own,
// listening on a port of its own, and worker child processes kept alive by a small supervisor (a
// killed worker is started again, as systemd or Kubernetes would), all on one broker: bullmq() on
// Redis or on PostgreSQL. The app has a process to itself so that the soak measures the app alone,
// without this process's load generator, supervisor and admin clients.
import { fork, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { BullmqDriverOptions, JobInfo } from '@afterward/core'
import { ask } from './ipc.js'

const appFile = fileURLToPath(new URL('./app.ts', import.meta.url))
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
  /** The app's process id. */
  readonly appPid: number
  /** The app's view of a job (`afterward.jobs.get`), to look up a job that went missing. */
  job(id: string): Promise<JobInfo | undefined>
  /** The app's `process.memoryUsage()` after a GC. */
  appMemory(): Promise<NodeJS.MemoryUsage>
  /**
   * Sends `signal` to worker `index` once it has runs in progress (within 5 s), so that the kill
   * cuts some off; resolves once it has exited (the supervisor restarts it).
   */
  killWorker(index: number, signal: NodeJS.Signals): Promise<void>
  /** The effects recorded so far, by job id. */
  effects(): Map<string, Effect>
  /** Process id of worker `index`; undefined while it is down. */
  workerPid(index: number): number | undefined
  /** Worker `index`'s `process.memoryUsage()` after a GC. */
  workerMemory(index: number): Promise<NodeJS.MemoryUsage>
  close(): Promise<void>
}

/** Starts the app and `options.workers` workers; resolves once all are ready. */
export async function startDeployment(options: DeploymentOptions): Promise<Deployment> {
  const workers: (ChildProcess | undefined)[] = []
  let app: ChildProcess | undefined
  let closing = false

  const spawnWorker = async (index: number): Promise<void> => {
    const child = start(workerFile, `worker ${index}`, {
      FAULTS_WORKER: JSON.stringify({
        driver: options.driver,
        db: options.db,
        concurrency: options.concurrency,
      }),
      FAULTS_EFFECTS: options.effects,
    })
    workers[index] = child.process
    child.process.once('exit', () => {
      if (workers[index] === child.process) workers[index] = undefined
      // The supervisor: a worker that died (crash, kill, SIGTERM) is replaced after 500 ms.
      if (!closing) setTimeout(() => !closing && void spawnWorker(index).catch(() => {}), 500)
    })
    await child.ready
  }

  let started = false
  try {
    const launched = start(appFile, 'app', {
      FAULTS_APP: JSON.stringify({ driver: options.driver }),
    })
    app = launched.process
    const { url } = await launched.ready
    await Promise.all(Array.from({ length: options.workers }, (_, i) => spawnWorker(i)))
    started = true
    const appProcess = app

    return {
      url: url!,
      appPid: appProcess.pid!,
      job: (id) => ask<JobInfo | undefined>(appProcess, 'job', id),
      appMemory: () => ask<NodeJS.MemoryUsage>(appProcess, 'memory'),
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
      workerPid: (index) => {
        const child = workers[index]
        return child?.exitCode === null ? child.pid : undefined
      },
      workerMemory: (index) => {
        const child = workers[index]
        return child === undefined
          ? Promise.reject(new Error(`worker ${index} is down`))
          : ask<NodeJS.MemoryUsage>(child, 'memory')
      },
      close: () => close(),
    }
  } finally {
    if (!started) await close()
  }

  async function close(): Promise<void> {
    closing = true
    // Workers first (they finish their runs), then the app.
    await Promise.all(workers.map(stop))
    await stop(app)
  }
}

/** Forks `file` under tsx; `ready` resolves with the child's ready message (within 60 s). */
function start(file: string, name: string, env: Record<string, string>) {
  const child = fork(file, [], {
    // --expose-gc: the app's memory is sampled after a GC.
    execArgv: ['--import', 'tsx', '--expose-gc'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // Keeps Dates (in JobInfo) across the channel.
    serialization: 'advanced',
  })
  const ready = new Promise<{ url?: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not ready in 60 s`)), 60_000)
    const onMessage = (message: { type?: string; url?: string }) => {
      if (message?.type !== 'ready') return
      clearTimeout(timer)
      child.off('message', onMessage)
      resolve(message)
    }
    child.on('message', onMessage)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`${name} exited before it was ready (${signal ?? code})`))
    })
  })
  return { process: child, ready }
}

/** SIGTERM (SIGKILL after 15 s); resolves once `child` has exited. */
async function stop(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGCONT')
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
  await exited
  clearTimeout(timer)
}

/** How many runs worker `child` has in progress (0 if it does not answer within 1 s). */
const runningIn = (child: ChildProcess): Promise<number> =>
  ask<number>(child, 'running', undefined, 1_000).catch(() => 0)

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
