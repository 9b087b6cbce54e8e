// Builds Afterward instances for tests and closes them after each test.
import { randomUUID } from 'node:crypto'
import { afterEach, expect } from 'vitest'
import { pino } from 'pino'
import {
  AfterwardEnqueueError,
  createAfterward,
  type Afterward,
  type AfterwardOptions,
  type Driver,
  type JobRecord,
  type Priority,
} from '@afterward/core'

export const silentLogger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' })

/** A driver factory: each call returns a driver isolated from every other (own prefix or memory). */
export type DriverFactory = (options?: { enqueueConnection?: string }) => Driver

const open: Afterward[] = []

afterEach(async () => {
  const closing = open.splice(0).map((a) => a.close())
  await Promise.all(closing)
})

/** `createAfterward` with a silent logger, closed after the test. */
export function instance(options: AfterwardOptions): Afterward {
  const afterward = createAfterward({ logger: silentLogger, ...options })
  open.push(afterward)
  return afterward
}

/** A promise and the functions that settle it. */
export function deferred<T = void>(): {
  promise: Promise<T>
  resolve(value: T): void
  reject(err: unknown): void
} {
  let resolve!: (value: T) => void
  let reject!: (err: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** What `fn` throws synchronously, or undefined. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (err) {
    return err
  }
  return undefined
}

/**
 * Enqueues against a broker that is not there and checks the failure: an
 * `AFTERWARD_ENQUEUE_FAILED` whose message matches, well within `enqueueTimeout` + 1 s.
 */
export async function expectFastEnqueueFailure(
  enqueue: () => Promise<unknown>,
  message: RegExp,
): Promise<void> {
  const started = performance.now()
  const error = await enqueue().then(
    () => undefined,
    (err: unknown) => err,
  )
  const elapsed = performance.now() - started
  expect(error).toBeInstanceOf(AfterwardEnqueueError)
  expect((error as AfterwardEnqueueError).code).toBe('AFTERWARD_ENQUEUE_FAILED')
  expect((error as Error).message).toMatch(message)
  expect(elapsed).toBeLessThan(1_500)
}

/**
 * A job record as a driver receives it from a flushed scope, with the built-in options: for
 * tests that call `driver.enqueue` directly.
 *
 * @example
 * await driver.enqueue([jobRecord('noop', { requestId: 'req-1', queue: 'mails' })])
 */
export function jobRecord(
  task: string,
  {
    requestId,
    queue = 'default',
    createdAt = Date.now(),
    delay = 0,
    priority = 'normal',
  }: {
    requestId?: string
    queue?: string
    createdAt?: number
    delay?: number
    priority?: Priority
  } = {},
): JobRecord {
  return {
    id: randomUUID(),
    task,
    input: null,
    requestId,
    createdAt,
    trace: undefined,
    options: {
      attempts: 1,
      backoff: { type: 'fixed', delay: 10, jitter: 0 },
      timeout: undefined,
      delay,
      priority,
      key: undefined,
      queue,
    },
  }
}
