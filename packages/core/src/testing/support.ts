// What the conformance suites share: instances closed after each test, promises settled by hand,
// job records for direct driver calls. Internal to `@afterward/core/testing`; the repository's
// own tests use them through test/support.
import { randomUUID } from 'node:crypto'
import { pino } from 'pino'
import {
  createAfterward,
  type Afterward,
  type AfterwardOptions,
  type JobRecord,
  type Priority,
} from '../index.js'

/** Silent unless `TEST_LOG_LEVEL` says otherwise. */
export const silentLogger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' })

const open: Afterward[] = []

/**
 * `createAfterward` with a silent logger, closed by the next {@link closeInstances}.
 *
 * @example
 * afterEach(closeInstances)
 * const afterward = instance({ tasks: [task], driver: memory() })
 */
export function instance(options: AfterwardOptions): Afterward {
  const afterward = createAfterward({ logger: silentLogger, ...options })
  open.push(afterward)
  return afterward
}

/** Closes every instance made by {@link instance} since the last call: an `afterEach` hook. */
export async function closeInstances(): Promise<void> {
  await Promise.all(open.splice(0).map((a) => a.close()))
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
