// One suite, run against every driver: the semantics users rely on must not depend on the driver.
// Each theme's tests live in their own file; this one names the describe blocks, in order.
import { afterEach, describe } from 'vitest'
import type { Driver } from '../index.js'
import { attemptTests } from './attempt-conformance.js'
import { contextTests } from './context-conformance.js'
import { deferScopeTests, deferValidationTests, driverContractTests } from './defer-conformance.js'
import { eventConformance } from './event-conformance.js'
import { jobOptionTests } from './job-options-conformance.js'
import { listingTests } from './listing-conformance.js'
import { operationsConformance } from './operations-conformance.js'
import { shutdownTests } from './shutdown-conformance.js'
import { closeInstances } from './support.js'

/** Options of {@link driverConformance}. */
export interface DriverConformanceOptions {
  /** Names the suite in the report: `driver conformance: <name>`. */
  name: string
  /**
   * Returns a new driver each time, isolated from every other one (its own key prefix, schema or
   * memory): tests run one after another and must not see each other's jobs. The suite closes
   * each driver through the instance it builds on it.
   */
  makeDriver: () => Driver
  /**
   * Whether `jobs.detail` still lists the errors of the attempts before an operator's
   * `jobs.retry` (BullMQ's PostgreSQL backend drops them). @defaultValue true
   */
  errorsKeptOnRetry?: boolean
}

/**
 * Registers the driver conformance suite with vitest: the semantics every driver must keep
 * (defer-time validation, the request scope, retries and backoff, timeouts, delay, priority,
 * dedup keys, option precedence, contexts, follow-up jobs, shutdown and inspection), each test
 * on a fresh driver from `makeDriver`. Call it at the top level of a test file. `memory()` and
 * `bullmq()` pass it; a third-party driver proves itself the same way.
 *
 * @example
 * // my-driver.test.ts
 * import { driverConformance } from '@afterward/core/conformance'
 * driverConformance({ name: 'my driver', makeDriver: () => myDriver({ prefix: randomUUID() }) })
 */
export function driverConformance({
  name,
  makeDriver,
  errorsKeptOnRetry = true,
}: DriverConformanceOptions): void {
  eventConformance(name, makeDriver)
  operationsConformance(name, makeDriver, errorsKeptOnRetry)
  describe(`driver conformance: ${name}`, () => {
    afterEach(closeInstances)
    describe('defer-time validation', () => deferValidationTests(makeDriver))
    describe('driver contract', () => driverContractTests(makeDriver))
    describe('listing and counting jobs', () => listingTests(makeDriver))
    describe('defer scope', () => deferScopeTests(makeDriver))
    describe('running jobs', () => {
      attemptTests(makeDriver)
      jobOptionTests(makeDriver)
    })
    describe('ctx.defer and contexts', () => contextTests(makeDriver))
    describe('shutdown', () => shutdownTests(makeDriver))
  })
}
