// What every theme of the HTTP adapter suite shares: its tasks, the signup route, and `setup`, which
// serves a test's routes on the adapter over a recording driver and a capturing logger.
import { pino } from 'pino'
import { z } from 'zod'
import {
  defineTask,
  type Afterward,
  type AfterwardOptions,
  type Driver,
  type FlushMode,
} from '../index.js'
import type { DriverUnderTest, HttpAdapterConformanceOptions } from './http-conformance-options.js'
import type { HttpAdapter, TestRoute, TestServer } from './http-test-adapter.js'
import { instance } from './support.js'

/** A v4 UUID: the request id an adapter makes when the request brings no valid one. */
export const UUID = /^[\da-f]{8}-[\da-f]{4}-4[\da-f]{3}-[89ab][\da-f]{3}-[\da-f]{12}$/

/** Validates its input: `to` must be an email address. */
export const email = defineTask({
  name: 'send-email',
  input: z.object({ to: z.email() }),
  run: () => undefined,
})
export const plain = defineTask({ name: 'plain', run: (_input: { n: number }) => undefined })
/** A task whose own retry option (3 attempts) sits between the route's and the defaults. */
export const fivefold = defineTask({
  name: 'fivefold',
  retry: { attempts: 3 },
  run: (_input: number) => undefined,
})

/** Fails the first two attempts of each job, then succeeds. */
export const flaky = defineTask({
  name: 'flaky',
  run(_input: { n: number }, ctx) {
    if (ctx.job.attempt < 3) throw new Error(`attempt ${ctx.job.attempt} fails`)
  },
})

/** The tasks of every app the suite serves. */
export const tasks = [email, plain, fivefold, flaky]

/** Defers a `send-email` job and answers 201 with its id and the request id. */
export const signup: TestRoute = {
  path: '/signup',
  handle: (request) => {
    const job = request.defer(email, { to: 'ada@example.com' })
    // Read after the defer: the request id is settled by the request's first defer.
    return {
      kind: 'json',
      status: 201,
      body: { jobId: job.id, requestId: request.requestId },
    }
  },
}

/** A driver wrapper that records every enqueue call and the ids the broker confirmed. */
function recording(
  driver: Driver,
  beforeEnqueue: () => Promise<void> = () => Promise.resolve(),
): { driver: Driver; calls: number[]; stored: Set<string> } {
  const calls: number[] = []
  const stored = new Set<string>()
  const proxy = new Proxy(driver, {
    get(target, key) {
      if (key === 'enqueue') {
        return async (records: Parameters<Driver['enqueue']>[0]) => {
          calls.push(records.length)
          await beforeEnqueue()
          const results = await target.enqueue(records)
          for (const result of results) stored.add(result.id)
          return results
        }
      }
      const value: unknown = Reflect.get(target, key)
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value
    },
  })
  return { driver: proxy, calls, stored }
}

/** A pino logger whose lines the test can read. */
function capturingLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => void lines.push(JSON.parse(line)) },
  )
  return { logger, lines }
}

/** What a test asks of {@link HttpSuite.setup}. */
export interface SetupOptions {
  /** The adapter's flush mode. @defaultValue the adapter's default */
  flush?: FlushMode
  /** Serve on this driver instead of a new one of the driver under test. */
  driver?: Driver
  /** Overrides of the instance's options (`tasks`, `defaults`, `enqueueTimeout`...). */
  afterward?: Partial<AfterwardOptions>
  /** Awaited before each enqueue reaches the driver: holds the broker while a test looks. */
  beforeEnqueue?: () => Promise<void>
}

/** An app served for one test, and what the test reads from it. */
export interface TestApp {
  afterward: Afterward
  server: TestServer
  /** POSTs JSON (`{}` by default) to the server, without following redirects. */
  post(path: string, init?: { headers?: Record<string, string>; body?: unknown }): Promise<Response>
  /** The lines the instance and the adapter logged. */
  lines: Record<string, unknown>[]
  /** The recording driver the instance uses. */
  driver: Driver
  /** The size of each enqueue call that reached the driver. */
  calls: number[]
  /** The ids the broker confirmed. */
  stored: Set<string>
}

/** What each theme of the suite is given, for one adapter on one driver. */
export interface HttpSuite extends Pick<
  HttpAdapterConformanceOptions,
  'adapter' | 'startRedisServer' | 'createTestDatabase' | 'createPrisma'
> {
  /** Serves `routes` on the adapter; the server is closed after the test. */
  setup(routes: TestRoute[], options?: SetupOptions): Promise<TestApp>
}

/**
 * The `setup` of one adapter on one driver: each app is pushed onto `servers`, which the suite
 * closes after each test.
 */
export function appSetup(
  adapter: HttpAdapter,
  driverUnderTest: DriverUnderTest,
  servers: TestServer[],
): HttpSuite['setup'] {
  return async function setup(routes, options = {}) {
    const recorder = recording(options.driver ?? driverUnderTest.make(), options.beforeEnqueue)
    const { logger, lines } = capturingLogger()
    const afterward = instance({ tasks, driver: recorder.driver, logger, ...options.afterward })
    const server = await adapter.serve(afterward, routes, { flush: options.flush, logger })
    servers.push(server)
    const post = (path: string, init: { headers?: Record<string, string>; body?: unknown } = {}) =>
      fetch(server.url + path, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/json', ...init.headers },
        body: JSON.stringify(init.body ?? {}),
      })
    return { afterward, server, post, lines, ...recorder }
  }
}
