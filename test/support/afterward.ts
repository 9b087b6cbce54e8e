// Builds Afterward instances for tests and closes them after each test. The helpers shared with
// the conformance suites of @afterward/core/testing live there.
import { afterEach, expect } from 'vitest'
import { AfterwardEnqueueError, type Driver } from '@afterward/core'
import { closeInstances } from '../../packages/core/src/testing/support.js'

export {
  deferred,
  instance,
  jobRecord,
  silentLogger,
  thrown,
} from '../../packages/core/src/testing/support.js'

/** A driver factory: each call returns a driver isolated from every other (own prefix or memory). */
export type DriverFactory = (options?: { enqueueConnection?: string }) => Driver

afterEach(closeInstances)

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
