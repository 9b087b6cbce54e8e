// Everything an example app needs besides its routes: database, mailer, Afterward instance and
// (optionally) its worker, chosen from the settings.
import {
  createAfterward,
  memory,
  type Afterward,
  type ContextProvider,
  type Driver,
  type Instrumentation,
  type MemoryDriver,
  type Worker,
} from '@afterward/core'
import { bullmq } from '@afterward/core/bullmq'
import { prismaContext, prismaOutbox } from '@afterward/prisma'
import type { Logger } from 'pino'
import { WORKER_CONCURRENCY, openDatabase, type Database } from './database.js'
import { createMailer, type Mailer } from './mailer.js'
import type { Settings } from './settings.js'
import { dailyDigest, tasks } from './tasks.js'

/**
 * Tracing set up by an example before its app loads (fastify-signup/src/tracing.ts): the
 * instance gets its instrumentation, and `close()` flushes its spans last.
 */
export interface TracingSetup {
  /** For `createAfterward({ instrumentation })`: empty when tracing is off. */
  instrumentation: Instrumentation[]
  /** Where spans go, for the start-up banner; undefined when tracing is off. */
  description: string | undefined
  /** Sends the spans still buffered and stops tracing. */
  shutdown(): Promise<void>
}

/** What `createServices` returns. */
export interface Services {
  settings: Settings
  db: Database
  mailer: Mailer
  afterward: Afterward
  /** Set with the memory() driver: `drain()` waits until every job has finished. */
  memoryDriver: MemoryDriver | undefined
  /** One line per service, for start-up banners and the demo report. */
  describe(): string[]
  /** Starts a worker in this process (the memory() driver needs one here). */
  startWorker(): Promise<Worker>
  /** Closes Afterward (and its workers), then the database. */
  close(): Promise<void>
}

/**
 * Opens the database, makes the mailer and the Afterward instance for `settings`.
 *
 * @example
 * const services = await createServices(loadSettings())
 * await services.startWorker()
 */
export async function createServices(
  settings: Settings,
  logger?: Logger,
  options: { driver?: Driver; tracing?: TracingSetup } = {},
): Promise<Services> {
  const db = await openDatabase(settings)
  const mailer = createMailer(settings)
  const memoryDriver =
    options.driver === undefined && settings.redisUrl === undefined ? memory() : undefined
  const mail: ContextProvider<Mailer> = { acquire: () => mailer }
  // Jobs deferred in a transaction (`deferIn`) wait in its outbox table until the worker's relay
  // moves them: woken by LISTEN/NOTIFY on PostgreSQL, by polling on PGlite.
  const outbox = prismaOutbox(db.prisma, { listen: settings.databaseUrl, pollInterval: 100 })
  const afterward = createAfterward({
    tasks: [...tasks, dailyDigest(settings.digestEvery)],
    // `options.driver` is for tests: testDriver() from @afterward/core/testing.
    driver: outbox.driver(
      options.driver ?? memoryDriver ?? bullmq({ connection: settings.redisUrl! }),
    ),
    // The HTTP app keeps using the client: the database is closed by close() below.
    context: {
      db: prismaContext(db.prisma, { poolSize: db.poolSize, disconnectOnClose: false }),
      mail,
    },
    ...(logger === undefined ? {} : { logger }),
    instrumentation: options.tracing?.instrumentation ?? [],
  })
  const tracing = options.tracing?.description
  let workerStarted = false
  return {
    settings,
    db,
    mailer,
    afterward,
    memoryDriver,
    describe: () => [
      `queue:    ${memoryDriver ? 'memory() driver (in this process, not durable)' : options.driver ? `${options.driver.name} driver` : `BullMQ on ${redactUrl(settings.redisUrl!)}`}` +
        (workerStarted ? ', worker in this process' : ', no worker in this process'),
      `database: ${db.description}`,
      `mail:     ${mailer.description}`,
      ...(tracing === undefined ? [] : [`tracing:  ${tracing}`]),
    ],
    async startWorker() {
      const worker = afterward.worker({ concurrency: WORKER_CONCURRENCY })
      await worker.start()
      workerStarted = true
      return worker
    },
    async close() {
      await afterward.close()
      await db.close()
      await options.tracing?.shutdown()
    },
  }
}

/** A URL without its password, for printing. */
export function redactUrl(url: string): string {
  const parsed = new URL(url)
  if (parsed.password !== '') parsed.password = '***'
  return parsed.toString()
}
