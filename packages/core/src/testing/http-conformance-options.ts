// What a caller of httpAdapterConformance gives it: the adapter, the drivers to run it on, and the
// optional services (a private Redis server, a PostgreSQL database, a Prisma client) that some
// tests need.
import type { Driver } from '../index.js'
import type { HttpAdapter } from './http-test-adapter.js'

/** A driver the suite runs every test on. */
export interface DriverUnderTest {
  /** Names it in the report. A driver named `bullmq` (on Redis) also gets the broker-down tests. */
  name: string
  /** Returns a new driver, isolated from every other one (its own key prefix or memory). */
  make(): Driver
}

/** A private Redis server that a test stops and restarts, never the shared one. */
export interface PrivateRedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string
  /** Stops the server; resolves once it has exited. */
  stop(): Promise<void>
  /** Starts it again on the same port. */
  restart(): Promise<void>
}

/** A fresh PostgreSQL database, dropped after the test. */
export interface TestDatabaseHandle {
  /** Connection string of the database. */
  readonly url: string
  drop(): Promise<void>
}

/** The part of a Prisma client that the transaction test uses: a `Note` model. */
export interface NotePrismaClient {
  note: {
    findUnique(args: { where: { jobId: string } }): PromiseLike<unknown>
    create(args: { data: { jobId: string; body: string } }): PromiseLike<unknown>
  }
  $transaction<R>(
    fn: (tx: { note: Pick<NotePrismaClient['note'], 'create'> }) => Promise<R>,
    options?: { maxWait?: number; timeout?: number },
  ): Promise<R>
  $disconnect(): Promise<void>
}

/** Options of {@link httpAdapterConformance}. */
export interface HttpAdapterConformanceOptions {
  /** The adapter under test: serves the suite's routes over real HTTP on its framework. */
  adapter: HttpAdapter
  /** Every test runs once per driver. */
  drivers: readonly DriverUnderTest[]
  /**
   * Starts a private redis-server, for the test that stops Redis under a running app (run for a
   * driver named `bullmq` only). @defaultValue none: that test is skipped
   */
  startRedisServer?: () => Promise<PrivateRedisServer>
  /**
   * Creates a PostgreSQL database whose schema has a `Note` table (`jobId` text, unique; `body`
   * text), for the test that commits a row in the handler's transaction and reads it from the
   * job. Give `createPrisma` with it. @defaultValue none: that test is skipped
   */
  createTestDatabase?: () => Promise<TestDatabaseHandle>
  /**
   * A Prisma client with the `Note` model on the database at `url`, with a pool of `max`
   * connections. @defaultValue none: the transaction test is skipped
   */
  createPrisma?: (url: string, options: { max: number }) => NotePrismaClient
}
