// Finds the Afterward instance the commands work on: the app's own, from a config module, or a
// read-only one built from a broker URL.
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { pino } from 'pino'
import {
  AfterwardError,
  ErrorCode,
  bullmq,
  createAfterward,
  redactInput,
  type Afterward,
  type JobInfo,
} from '@afterward/core'
import { UsageError } from './usage-error.js'

/** Config file names looked for in the working directory, in this order. */
export const CONFIG_NAMES = [
  'afterward.config.ts',
  'afterward.config.mts',
  'afterward.config.js',
  'afterward.config.mjs',
]

export interface Source {
  /** `--config`: a module whose default export (or `afterward` export) is the instance. */
  config?: string | undefined
  /** `--redis` or `REDIS_URL`. */
  redis?: string | undefined
  /** `--postgres` or `DATABASE_URL`. */
  postgres?: string | undefined
  /** BullMQ key prefix on Redis (`--prefix`). */
  prefix?: string | undefined
  /** PostgreSQL schema (`--schema`). */
  schema?: string | undefined
  /** Input paths hidden on top of the instance's own `redact` (`--redact`). */
  redact?: string[] | undefined
}

export interface Loaded {
  afterward: Afterward
  /** True when built from a broker URL, without the app's code. */
  readOnly: boolean
  /** What was loaded, for messages: a file path or `redis://…`. */
  from: string
}

/**
 * `--redis` / `--postgres` first (a read-only view), then `--config`, then a config file in the
 * working directory, then `REDIS_URL` / `DATABASE_URL` (read-only again).
 */
export async function loadAfterward(
  source: Source,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<Loaded> {
  if (source.redis !== undefined || source.postgres !== undefined) return readOnly(source)
  const file =
    source.config !== undefined
      ? resolve(cwd, source.config)
      : CONFIG_NAMES.map((name) => resolve(cwd, name)).find((path) => existsSync(path))
  if (file !== undefined) {
    const stray =
      source.prefix !== undefined
        ? '--prefix'
        : source.schema !== undefined
          ? '--schema'
          : undefined
    if (stray !== undefined) {
      throw new UsageError(
        `${stray} applies to the read-only view (--redis / --postgres); with a config (${file}) the instance's own driver options apply.`,
      )
    }
    return fromConfig(file, source)
  }
  if (env['REDIS_URL']) return readOnly({ ...source, redis: env['REDIS_URL'] })
  if (env['DATABASE_URL']) return readOnly({ ...source, postgres: env['DATABASE_URL'] })
  throw new UsageError(
    `No Afterward instance: found no ${CONFIG_NAMES.join(', ')} in ${cwd}. Pass --config <file> (a module that exports your instance), or --redis <url> / --postgres <url> (or set REDIS_URL / DATABASE_URL) for a read-only view.`,
  )
}

async function fromConfig(file: string, source: Source): Promise<Loaded> {
  if (!existsSync(file)) {
    throw new UsageError(`--config ${file}: no such file.`)
  }
  const url = pathToFileURL(file).href
  // A TypeScript config needs no build step: tsx compiles it (and what it imports) on load.
  const mod = (
    /\.[cm]?tsx?$/.test(file)
      ? await import('tsx/esm/api').then(({ tsImport }) => tsImport(url, import.meta.url))
      : await import(url)
  ) as Record<string, unknown>
  const found = await (mod['default'] ?? mod['afterward'])
  if (!isAfterward(found)) {
    throw new UsageError(
      `${file} must export your Afterward instance: \`export default afterward\` or \`export const afterward = createAfterward({ ... })\`.`,
    )
  }
  if (source.redact === undefined) return { afterward: found, readOnly: false, from: file }
  return { afterward: redacted(found, source.redact), readOnly: false, from: file }
}

function readOnly(source: Source): Loaded {
  if (source.redis !== undefined && source.postgres !== undefined) {
    throw new UsageError('Pass one of --redis and --postgres, not both.')
  }
  const driver = usage(() =>
    source.redis !== undefined
      ? bullmq({
          connection: source.redis,
          ...(source.prefix === undefined ? {} : { prefix: source.prefix }),
        })
      : bullmq({
          postgres: {
            connectionString: source.postgres!,
            ...(source.schema === undefined ? {} : { schema: source.schema }),
            // A viewer must not create or upgrade tables.
            migrate: false,
          },
        }),
  )
  const afterward = createAfterward({
    tasks: [],
    driver,
    logger: pino({ level: 'silent' }),
    ...(source.redact === undefined ? {} : { redact: source.redact }),
  })
  const from = source.redis !== undefined ? hideSecret(source.redis) : hideSecret(source.postgres!)
  // Read-only for every user of the instance, the dashboard's buttons included.
  const refuse = (): Promise<never> =>
    Promise.reject(
      new AfterwardError(
        ErrorCode.CONFIG_INVALID,
        `This is a read-only view of ${from}: run the CLI with your config (--config afterward.config.ts) to retry or remove jobs.`,
      ),
    )
  return {
    afterward: { ...afterward, jobs: { ...afterward.jobs, retry: refuse, remove: refuse } },
    readOnly: true,
    from,
  }
}

/** Runs `make`, turning a configuration it refuses (a bad URL, prefix or schema) into a usage error. */
function usage<T>(make: () => T): T {
  try {
    return make()
  } catch (err) {
    if ((err as { code?: string }).code !== ErrorCode.CONFIG_INVALID) throw err
    throw new UsageError((err as Error).message)
  }
}

/** The same instance, its reads also hiding `paths` (after its own `redact`). */
function redacted(afterward: Afterward, paths: string[]): Afterward {
  const show = <J extends JobInfo>(job: J): J => ({
    ...job,
    input: redactInput(job.input, paths, job.task),
  })
  const jobs = afterward.jobs
  return {
    ...afterward,
    jobs: {
      ...jobs,
      get: async (id) => {
        const job = await jobs.get(id)
        return job && show(job)
      },
      detail: async (id) => {
        const job = await jobs.detail(id)
        return job && show(job)
      },
      byRequest: async (requestId) => (await jobs.byRequest(requestId)).map(show),
      wait: async (id, options) => show(await jobs.wait(id, options)),
      list: async (query) => {
        const page = await jobs.list(query)
        return { ...page, jobs: page.jobs.map(show) }
      },
      retry: async (id) => show(await jobs.retry(id)),
    },
  }
}

/** `--redact a,b.c`: the paths, checked up front. */
export function redactPaths(list: string): string[] {
  const paths = list.split(',').map((p) => p.trim())
  try {
    redactInput(null, paths)
  } catch (err) {
    throw new UsageError(`--redact: ${(err as Error).message}`)
  }
  return paths
}

function isAfterward(value: unknown): value is Afterward {
  const jobs = (value as Afterward | undefined)?.jobs
  return typeof jobs?.get === 'function' && typeof jobs.byRequest === 'function'
}

/** The URL without its password, for messages. */
function hideSecret(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return url
  }
}
