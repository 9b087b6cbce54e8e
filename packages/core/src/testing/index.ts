// `@afterward/core/testing`: helpers for users' own tests (`testDriver()`, see "Testing your
// tasks" in the README), and the conformance suites that memory(), bullmq(), @afterward/fastify
// and @afterward/express pass, for a third-party driver or HTTP adapter to prove itself with. The
// suites register vitest tests, so vitest (and zod and valibot, which their tasks validate with)
// must be installed where they run.
export { testDriver } from './test-driver.js'
export type { TestDriver, TestDriverOptions } from './test-driver.js'
export type { TestClock } from './test-clock.js'
export type { DeferredExpectation, RecordedJob, RecordedJobFilter } from './assertions.js'
export { driverConformance } from './driver-conformance.js'
export type { DriverConformanceOptions } from './driver-conformance.js'
export { httpAdapterConformance } from './http-conformance.js'
export type {
  DriverUnderTest,
  HttpAdapterConformanceOptions,
  NotePrismaClient,
  PrivateRedisServer,
  TestDatabaseHandle,
} from './http-conformance.js'
export type {
  HttpAdapter,
  ServeOptions,
  TestReply,
  TestRoute,
  TestRouteContext,
  TestServer,
} from './http-test-adapter.js'
