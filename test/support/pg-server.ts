// A private PostgreSQL server for tests that restart, freeze or starve PostgreSQL, which must
// never happen to the shared one: a new cluster (initdb) in a temp dir on a free port, run as
// the `postgres` system user when started as root (PostgreSQL refuses to run as root).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { chownSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { freePort, waitFor } from './redis.js'

/** A private PostgreSQL started by {@link startPostgresServer}. */
export interface PostgresServer {
  readonly port: number
  /** A connection string for `database` as `user` (the superuser `postgres` unless given). */
  url(database: string, user?: string): string
  /**
   * Stops the server as `pg_ctl stop -m <mode>` would (`fast`: SIGINT, roll back and exit;
   * `immediate`: SIGQUIT, exit at once and recover from the WAL at the next start), then starts
   * it again on the same port and data.
   */
  restart(mode: 'fast' | 'immediate', downForMs?: number): Promise<void>
  /** Sends `signal` (SIGSTOP, SIGCONT) to the postmaster and every process it started. */
  signalAll(signal: NodeJS.Signals): void
  /** Runs one statement as the superuser; returns its rows. */
  query<R extends object = Record<string, unknown>>(sql: string, database?: string): Promise<R[]>
  /** Stops the server (fast) and removes its data directory. */
  stop(): Promise<void>
}

const binDir = (): string => {
  const versions = readdirSync('/usr/lib/postgresql').sort()
  const version = versions.at(-1)
  if (version === undefined) throw new Error('no PostgreSQL server in /usr/lib/postgresql')
  return `/usr/lib/postgresql/${version}/bin`
}

/** uid and gid to run the server as: `postgres` when we are root, else ourselves. */
function owner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }))
  return { uid: id('-u'), gid: id('-g') }
}

/** The ids of `pid`'s child processes, read from /proc. */
function childrenOf(pid: number): number[] {
  const found: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      // Fields after the command (in parentheses, which may hold spaces): state, ppid, ...
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === pid) found.push(Number(entry))
    } catch {
      // the process ended while we read
    }
  }
  return found
}

/**
 * Starts a private PostgreSQL (a new cluster, trust auth, fsync off: these tests crash
 * processes, not machines) on a free port. Killed when the test process exits at the latest.
 *
 * @example
 * const postgres = await startPostgresServer()
 * try {
 *   await postgres.query('CREATE DATABASE app')
 *   await postgres.restart('immediate')
 * } finally {
 *   await postgres.stop()
 * }
 */
export async function startPostgresServer(
  config: Record<string, string | number> = {},
): Promise<PostgresServer> {
  const port = await freePort()
  const bin = binDir()
  const user = owner()
  const dir = mkdtempSync(join(tmpdir(), 'aw-pg-'))
  const data = join(dir, 'data')
  if (user) chownSync(dir, user.uid, user.gid)
  execFileSync(
    `${bin}/initdb`,
    ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8'],
    { stdio: 'ignore', ...user },
  )
  let child: ChildProcess | undefined
  const kill = () => child?.kill('SIGKILL')
  process.once('exit', kill)

  const ping = async (): Promise<boolean> => {
    const client = new pg.Client({
      connectionString: url('postgres'),
      connectionTimeoutMillis: 1_000,
    })
    client.on('error', () => {})
    try {
      await client.connect()
      await client.query('SELECT 1')
      return true
    } catch {
      return false
    } finally {
      await client.end().catch(() => {})
    }
  }

  const start = async (): Promise<void> => {
    const options = {
      port,
      listen_addresses: '127.0.0.1',
      unix_socket_directories: dir,
      fsync: 'off',
      max_connections: 200,
      ...config,
    }
    const args = ['-D', data, ...Object.entries(options).flatMap(([k, v]) => ['-c', `${k}=${v}`])]
    const proc = spawn(`${bin}/postgres`, args, { stdio: ['ignore', 'ignore', 'pipe'], ...user })
    let stderr = ''
    proc.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)))
    const failed = new Promise<never>((_, reject) =>
      proc.once('exit', (code) => reject(new Error(`postgres exited (${code}): ${stderr}`))),
    )
    failed.catch(() => {})
    child = proc
    await Promise.race([
      waitFor(ping, `postgres on port ${port} did not accept connections`, 60_000),
      failed,
    ])
  }

  const shutdown = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
    proc.kill('SIGCONT')
    proc.kill(signal)
    const timer = setTimeout(() => proc.kill('SIGQUIT'), 10_000)
    await exited
    clearTimeout(timer)
  }

  function url(database: string, role = 'postgres'): string {
    return `postgres://${role}@127.0.0.1:${port}/${database}`
  }

  await start()
  return {
    port,
    url,
    async restart(mode, downForMs = 0) {
      await shutdown(mode === 'fast' ? 'SIGINT' : 'SIGQUIT')
      if (downForMs > 0) await new Promise((resolve) => setTimeout(resolve, downForMs))
      await start()
    },
    signalAll(signal) {
      const pid = child?.pid
      if (pid === undefined) return
      // The postmaster first on SIGSTOP (it starts no new backend then), last on SIGCONT.
      const all = [pid, ...childrenOf(pid)]
      for (const each of signal === 'SIGCONT' ? all.reverse() : all) {
        try {
          process.kill(each, signal)
        } catch {
          // gone already
        }
      }
    },
    async query<R extends object>(sql: string, database = 'postgres') {
      const client = new pg.Client({
        connectionString: url(database),
        connectionTimeoutMillis: 5_000,
      })
      client.on('error', () => {})
      try {
        await client.connect()
        return (await client.query<R>(sql)).rows
      } finally {
        await client.end().catch(() => {})
      }
    },
    async stop() {
      await shutdown('SIGINT')
      process.removeListener('exit', kill)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
