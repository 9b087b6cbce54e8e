// Redis for tests: the shared server (one queue name per test keeps tests apart) and private
// servers for tests that stop or restart Redis, which must never touch the shared one.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { createConnection } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../../packages/core/src/testing/free-port.js'
import { waitFor } from '../../packages/core/src/testing/wait-for.js'

export { freePort, waitFor }

/** The shared Redis server: `REDIS_URL`, or the local default. */
export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

/**
 * A queue name no other test (in this run or a concurrent one) uses.
 *
 * @example
 * const queue = uniqueQueueName('retry') // 'retry-4f1c2a9b0d3e'
 */
export function uniqueQueueName(prefix: string): string {
  return `${prefix}-${randomUUID().replaceAll('-', '').slice(0, 12)}`
}

/** Resolves true when a Redis server at host:port answers PING within `timeoutMs`. */
export function pingRedis(port: number, host = '127.0.0.1', timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host })
    let reply = ''
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8')
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
  })
}

/** A private redis-server started by {@link startRedisServer}. */
export interface RedisServer {
  readonly port: number
  /** `redis://127.0.0.1:<port>` */
  readonly url: string
  /** The running server's process id; undefined while it is stopped. */
  readonly pid: number | undefined
  /**
   * Sends `signal` to the server as an operator would (`SIGKILL`, `SIGSTOP`, `SIGCONT`); for
   * `SIGKILL` and `SIGTERM`, resolves once it has exited. `restart()` starts it again.
   */
  kill(signal: NodeJS.Signals): Promise<void>
  /**
   * Stops the server (SIGTERM, then SIGKILL after 5 s) and resolves once it has exited. Its data
   * directory is removed unless `keepData` (then `restart()` starts it again with what it had
   * persisted, with `appendonly: 'yes'`).
   */
  stop(options?: { keepData?: boolean }): Promise<void>
  /**
   * Stops the server if it runs, then starts it again on the same port, with no data unless it
   * persists some (`appendonly: 'yes'`).
   */
  restart(): Promise<void>
}

const running = new Set<ChildProcess>()
let exitHookInstalled = false

function killAllOnExit(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL')
  })
}

/**
 * Starts a private redis-server on a free port, for tests that kill or restart Redis.
 * Nothing is persisted; the server is killed when the test process exits at the latest.
 * `config` adds or overrides redis-server options (`{ 'cluster-enabled': 'yes' }`).
 *
 * @example
 * const redis = await startRedisServer()
 * onTestFinished(() => redis.stop())
 * const driver = bullmq({ connection: redis.url })
 * await redis.stop() // the broker is down: enqueues must fail fast
 * await redis.restart() // and it is back, empty
 */
export async function startRedisServer(
  config: Record<string, string | number> = {},
): Promise<RedisServer> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'aw-redis-'))
  let child: ChildProcess | undefined

  const start = async (): Promise<void> => {
    mkdirSync(dir, { recursive: true })
    const options = {
      port,
      bind: '127.0.0.1',
      save: '',
      appendonly: 'no',
      daemonize: 'no',
      dir,
      loglevel: 'warning',
      ...config,
    }
    const args = Object.entries(options).flatMap(([name, value]) => [`--${name}`, String(value)])
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    proc.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
    const failedToSpawn = new Promise<never>((_, reject) => {
      proc.once('error', (error) => reject(new Error(`cannot run redis-server: ${error.message}`)))
      proc.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${stderr}`)))
    })
    failedToSpawn.catch(() => {}) // observed below; later exits are expected (stop)
    child = proc
    running.add(proc)
    killAllOnExit()
    await Promise.race([
      waitFor(() => pingRedis(port), `redis-server on port ${port} did not answer PING`),
      failedToSpawn,
    ])
  }

  const stop = async (): Promise<void> => {
    const proc = child
    child = undefined
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
    proc.kill('SIGTERM')
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000)
    await exited
    clearTimeout(timer)
    running.delete(proc)
  }

  try {
    await start()
  } catch (error) {
    await stop()
    rmSync(dir, { recursive: true, force: true })
    throw error
  }

  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.exitCode === null && child.signalCode === null ? child.pid : undefined
    },
    async kill(signal) {
      const proc = child
      if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
      proc.kill(signal)
      if (signal === 'SIGKILL' || signal === 'SIGTERM') {
        await exited
        running.delete(proc)
      }
    },
    async stop(options) {
      await stop()
      if (options?.keepData !== true) rmSync(dir, { recursive: true, force: true })
    },
    async restart() {
      await stop()
      await start()
    },
  }
}
