// `@afterward/core/testing`: helpers for users' own tests (`testDriver()`, see "Testing your
// tasks" in the core README). Nothing here needs a test framework: it works under vitest,
// node:test or any other runner. The conformance suites for driver and adapter authors, which
// register vitest tests, are the separate entry `@afterward/core/conformance`.
export { testDriver } from './test-driver.js'
export type { TestDriver, TestDriverOptions } from './test-driver.js'
export type { TestClock } from './test-clock.js'
export type { DeferredExpectation, RecordedJob, RecordedJobFilter } from './assertions.js'
