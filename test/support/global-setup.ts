// Vitest global setup: make sure the services and the generated Prisma client that the tests
// use exist, so that `pnpm test` also works on a machine where Redis or PostgreSQL stopped.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { pingRedis, redisUrl, waitFor } from './redis.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const localHosts = new Set(['127.0.0.1', 'localhost', '[::1]'])

/** Runs a command, returning its output for error messages (never throws). */
function run(command: string, args: string[]): string {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8', timeout: 60_000 })
  if (result.error) return `${command}: ${result.error.message}`
  return `${command} exited with ${result.status}: ${result.stdout}${result.stderr}`.trim()
}

async function ensureRedis(): Promise<void> {
  const url = new URL(redisUrl)
  const port = Number(url.port || 6379)
  if (await pingRedis(port, url.hostname)) return
  if (!localHosts.has(url.hostname) || port !== 6379) {
    throw new Error(`Redis at ${redisUrl} does not answer PING; start it or fix REDIS_URL.`)
  }
  const output = run('redis-server', [
    ...['--daemonize', 'yes', '--bind', '127.0.0.1', '-::1', '--port', '6379'],
    ...['--save', '', '--appendonly', 'no'],
    ...['--dir', '/var/lib/redis', '--logfile', '/var/log/redis/ci.log'],
  ])
  await waitFor(
    () => pingRedis(port),
    `Redis on 127.0.0.1:6379 is down and could not be started (${output}).`,
    20_000,
  )
}

async function ensurePostgres(): Promise<void> {
  // Imported late: pg.ts loads the generated Prisma client, which ensurePrismaClient() makes.
  const { adminUrl, pingPostgres } = await import('./pg.js')
  if (await pingPostgres()) return
  const host = new URL(adminUrl).hostname
  if (!localHosts.has(host) || !existsSync('/etc/postgresql')) {
    throw new Error(`PostgreSQL at ${adminUrl} does not answer; start it or set PG_ADMIN_URL.`)
  }
  const version = readdirSync('/etc/postgresql')[0] ?? ''
  const output = run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'])
  await waitFor(
    pingPostgres,
    `PostgreSQL at ${adminUrl} is down and could not be started (${output}).`,
    30_000,
  )
}

function ensurePrismaClient(): void {
  if (existsSync(fileURLToPath(new URL('../prisma/generated/client.ts', import.meta.url)))) return
  const output = run(process.execPath, ['scripts/generate.mjs'])
  if (!existsSync(fileURLToPath(new URL('../prisma/generated/client.ts', import.meta.url)))) {
    throw new Error(`The test Prisma client is missing and 'pnpm generate' failed: ${output}`)
  }
}

export default async function setup(): Promise<void> {
  ensurePrismaClient()
  await Promise.all([ensureRedis(), ensurePostgres()])
}
