// A private Redis Cluster for tests: masters on free ports, each a private redis-server
// (startRedisServer, its own temp dir) joined with `redis-cli --cluster create`. The shared Redis
// is never touched.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { freePort, startRedisServer, waitFor, type RedisServer } from './redis.js'

const execFileAsync = promisify(execFile)

/** A cluster started by {@link startRedisCluster}. */
export interface RedisCluster {
  /** Every master, as `{ host, port }`. */
  readonly nodes: { host: string; port: number }[]
  /** Every master, as `redis://127.0.0.1:<port>`. */
  readonly urls: string[]
  /** Runs `redis-cli` against one node and returns its trimmed output. */
  cli(port: number, ...args: string[]): Promise<string>
  /** The keys matching a `SCAN` pattern, per node port (each node holds only its own slots). */
  keys(pattern: string): Promise<Map<number, string[]>>
  /** Stops every node and removes their directories; resolves once all have exited. */
  stop(): Promise<void>
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(
    'redis-cli',
    ['-h', '127.0.0.1', '-p', String(port), ...args],
    {
      timeout: 30_000,
    },
  )
  return stdout.trim()
}

/**
 * Starts a cluster of `size` masters without replicas and resolves once every node reports
 * `cluster_state:ok`. If anything fails on the way, the nodes already started are stopped.
 *
 * @example
 * const cluster = await startRedisCluster()
 * afterAll(() => cluster.stop())
 * const driver = bullmq({ cluster: { nodes: cluster.nodes } })
 */
export async function startRedisCluster(size = 3): Promise<RedisCluster> {
  const started = await Promise.allSettled(
    Array.from({ length: size }, async () =>
      startRedisServer({
        'cluster-enabled': 'yes',
        // The bus port defaults to port + 10000, which may not exist above an ephemeral port.
        'cluster-port': await freePort(),
        'cluster-config-file': 'nodes.conf',
      }),
    ),
  )
  const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))
  const stop = async (): Promise<void> => {
    await Promise.allSettled(servers.map((s: RedisServer) => s.stop()))
  }
  try {
    const failed = started.find((s) => s.status === 'rejected')
    if (failed) throw failed.reason
    const addresses = servers.map((s) => `127.0.0.1:${s.port}`)
    await execFileAsync(
      'redis-cli',
      ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'],
      { timeout: 60_000 },
    )
    const ready = async (port: number): Promise<boolean> =>
      (await cli(port, 'CLUSTER', 'INFO')).includes('cluster_state:ok')
    await waitFor(
      async () => (await Promise.all(servers.map((s) => ready(s.port)))).every(Boolean),
      `the Redis Cluster on ${addresses.join(', ')} did not reach cluster_state:ok`,
      30_000,
    )
  } catch (error) {
    await stop()
    throw error
  }

  return {
    nodes: servers.map((s) => ({ host: '127.0.0.1', port: s.port })),
    urls: servers.map((s) => s.url),
    cli,
    async keys(pattern) {
      const found = new Map<number, string[]>()
      for (const { port } of servers) {
        const output = await cli(port, '--scan', '--pattern', pattern)
        found.set(port, output === '' ? [] : output.split('\n'))
      }
      return found
    },
    stop,
  }
}
