// @afterward/core/testing: helpers for tests of code that defers jobs (see "Testing your tasks"
// in the README).
export { testDriver } from './test-driver.js'
export type { TestDriver, TestDriverOptions } from './test-driver.js'
export type { TestClock } from './test-clock.js'
export type { DeferredExpectation, RecordedJob, RecordedJobFilter } from './assertions.js'
