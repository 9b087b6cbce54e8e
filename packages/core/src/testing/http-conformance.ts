// One suite, run against every HTTP adapter and driver: DESIGN.md points 2 and 3 over real HTTP.
// Each theme's tests live in their own file; this one registers them, in order, per driver.
import { afterEach, describe } from 'vitest'
import { brokerDownTests } from './http-broker-down-conformance.js'
import type { HttpAdapterConformanceOptions } from './http-conformance-options.js'
import { lifecycleTests } from './http-lifecycle-conformance.js'
import { requestIdTests } from './http-request-id-conformance.js'
import { routeTests } from './http-route-conformance.js'
import { storingTests } from './http-storing-conformance.js'
import { appSetup, type HttpSuite } from './http-suite.js'
import type { TestServer } from './http-test-adapter.js'
import { closeInstances } from './support.js'

/**
 * Registers the HTTP adapter conformance suite with vitest: DESIGN points 2 and 3 over real HTTP
 * (jobs stored before the response of a 2xx or 3xx and dropped on 4xx, 5xx or a throw; 503 with
 * `AFTERWARD_ENQUEUE_FAILED` when the broker is down; streams and files; route options; request
 * ids; `after-response` mode; shutdown with requests in flight), on every driver given. Call it at
 * the top level of a test file. `@afterward/fastify` and `@afterward/express` pass it; a
 * third-party adapter proves itself the same way.
 *
 * @example
 * // koa.test.ts
 * import { memory } from '@afterward/core'
 * import { httpAdapterConformance } from '@afterward/core/conformance'
 * httpAdapterConformance({ adapter: koaAdapter, drivers: [{ name: 'memory', make: () => memory() }] })
 */
export function httpAdapterConformance(options: HttpAdapterConformanceOptions): void {
  const { adapter, drivers } = options
  for (const driverUnderTest of drivers) {
    describe(`${adapter.name} on ${driverUnderTest.name}`, () => {
      const servers: TestServer[] = []
      afterEach(async () => {
        await Promise.allSettled(servers.splice(0).map((s) => s.close()))
        await closeInstances()
      })
      const suite: HttpSuite = { ...options, setup: appSetup(adapter, driverUnderTest, servers) }
      storingTests(suite)
      routeTests(suite)
      requestIdTests(suite)
      lifecycleTests(suite)
      if (driverUnderTest.name === 'bullmq') brokerDownTests(suite)
    })
  }
}
