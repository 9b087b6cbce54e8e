// The HTTP suite's tests of a broker that is down (bullmq on Redis only): 503 with
// AFTERWARD_ENQUEUE_FAILED within enqueueTimeout, logged with the request id, and recovery once
// Redis is back. Registered by httpAdapterConformance for a driver named `bullmq`.
import { expect, it, onTestFinished } from 'vitest'
import { bullmq } from '../index.js'
import { freePort } from './free-port.js'
import { UUID, plain, signup, type HttpSuite } from './http-suite.js'
import type { TestRoute } from './http-test-adapter.js'
import { waitFor } from './wait-for.js'

/** The broker-down tests, each on its own bullmq driver. */
export function brokerDownTests({ adapter, setup, startRedisServer }: HttpSuite): void {
  const routes: TestRoute[] = [
    signup,
    {
      path: '/stream',
      handle: ({ defer }) => (defer(plain, { n: 1 }), { kind: 'stream', chunks: ['a', 'b'] }),
    },
    { path: '/bare', handle: () => ({ kind: 'json', body: { ok: true } }) },
  ]
  const expect503 = async (response: Response, started: number) => {
    expect(response.status).toBe(503)
    expect(response.headers.get('content-type')).toMatch(/application\/json/)
    // The client can still name its request when it reports the failure.
    expect(response.headers.get('x-request-id')).toMatch(UUID)
    expect(await response.json()).toMatchObject({
      statusCode: 503,
      code: 'AFTERWARD_ENQUEUE_FAILED',
    })
    expect(performance.now() - started).toBeLessThan(2_000)
  }

  it(`answers 503 within enqueueTimeout when nothing listens on the Redis port (${adapter.name})`, async () => {
    const driver = bullmq({ connection: `redis://127.0.0.1:${await freePort()}` })
    const { post, server } = await setup(routes, {
      driver,
      afterward: { enqueueTimeout: 400 },
    })
    for (const path of ['/signup', '/stream']) {
      const started = performance.now()
      await expect503(await post(path), started)
    }
    const bare = await post('/bare')
    expect(bare.status).toBe(200)
    expect(await bare.json()).toEqual({ ok: true })
    expect(server.stats().enqueueFailures).toBe(2)
  })

  it('logs a failed store with the request id the 503 carries', async () => {
    const driver = bullmq({ connection: `redis://127.0.0.1:${await freePort()}` })
    const { post, lines } = await setup(routes, {
      driver,
      afterward: { enqueueTimeout: 300 },
    })
    const response = await post('/signup', { headers: { 'x-request-id': 'req-503-1' } })
    expect(response.status).toBe(503)
    expect(response.headers.get('x-request-id')).toBe('req-503-1')
    await response.arrayBuffer()
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 50,
        requestId: 'req-503-1',
        msg: expect.stringContaining('AFTERWARD_ENQUEUE_FAILED'),
        err: expect.objectContaining({ code: 'AFTERWARD_ENQUEUE_FAILED' }),
      }),
    )
  })

  it('answers 503 once the Redis server stops, and stores again after it restarts', async ({
    skip,
  }) => {
    if (startRedisServer === undefined) {
      return skip('pass startRedisServer to httpAdapterConformance to run it')
    }
    const redis = await startRedisServer()
    onTestFinished(() => redis.stop())
    const driver = bullmq({ connection: redis.url })
    const { post, afterward } = await setup(routes, {
      driver,
      afterward: { enqueueTimeout: 400 },
    })
    expect((await post('/signup')).status).toBe(201)
    await redis.stop()
    const started = performance.now()
    await expect503(await post('/signup'), started)
    expect((await post('/bare')).status).toBe(200)
    await redis.restart()
    await waitFor(async () => (await post('/signup')).status === 201, 'never recovered')
    const response = await post('/signup')
    const { jobId } = (await response.json()) as { jobId: string }
    expect(await afterward.jobs.get(jobId)).toBeDefined()
  })

  it('in after-response mode, logs and counts a failed flush, the client having its 2xx', async () => {
    const driver = bullmq({ connection: `redis://127.0.0.1:${await freePort()}` })
    const { post, server, lines } = await setup(routes, {
      driver,
      flush: 'after-response',
      afterward: { enqueueTimeout: 300 },
    })
    const response = await post('/signup', { headers: { 'x-request-id': 'req-after-1' } })
    expect(response.status).toBe(201)
    await waitFor(async () => server.stats().afterResponseFailures === 1, 'failure never counted')
    expect(lines).toContainEqual(expect.objectContaining({ level: 50, requestId: 'req-after-1' }))
  })
}
