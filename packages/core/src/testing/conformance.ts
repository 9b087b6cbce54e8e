// `@afterward/core/conformance`: the suites that memory(), bullmq(), @afterward/fastify and
// @afterward/express pass, for a third-party driver or HTTP adapter to prove itself with. The
// suites register vitest tests, so vitest (and zod and valibot, which their tasks validate with)
// must be installed where they run.
export { driverConformance } from './driver-conformance.js'
export type { DriverConformanceOptions } from './driver-conformance.js'
export { scheduleConformance } from './schedule-conformance.js'
export type { ScheduleConformanceOptions } from './schedule-conformance.js'
export { httpAdapterConformance } from './http-conformance.js'
export type {
  DriverUnderTest,
  HttpAdapterConformanceOptions,
  NotePrismaClient,
  PrivateRedisServer,
  TestDatabaseHandle,
} from './http-conformance-options.js'
export type {
  HttpAdapter,
  ServeOptions,
  TestReply,
  TestRoute,
  TestRouteContext,
  TestServer,
} from './http-test-adapter.js'
