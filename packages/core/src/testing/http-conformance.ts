// One suite, run against every HTTP adapter and driver: DESIGN.md points 2 and 3 over real HTTP.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, onTestFinished } from 'vitest'
import { pino } from 'pino'
import { bullmq, defineTask, type AfterwardOptions, type Driver, type FlushMode } from '../index.js'
import { z } from 'zod'
import { freePort } from './free-port.js'
import type { HttpAdapter, TestRoute, TestServer } from './http-test-adapter.js'
import { closeInstances, deferred, instance } from './support.js'
import { waitFor } from './wait-for.js'

const UUID = /^[\da-f]{8}-[\da-f]{4}-4[\da-f]{3}-[89ab][\da-f]{3}-[\da-f]{12}$/

/** A driver the suite runs every test on. */
export interface DriverUnderTest {
  /** Names it in the report. A driver named `bullmq` (on Redis) also gets the broker-down tests. */
  name: string
  /** Returns a new driver, isolated from every other one (its own key prefix or memory). */
  make(): Driver
}

/** A private Redis server that a test stops and restarts, never the shared one. */
export interface PrivateRedisServer {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string
  /** Stops the server; resolves once it has exited. */
  stop(): Promise<void>
  /** Starts it again on the same port. */
  restart(): Promise<void>
}

/** A fresh PostgreSQL database, dropped after the test. */
export interface TestDatabaseHandle {
  /** Connection string of the database. */
  readonly url: string
  drop(): Promise<void>
}

/** The part of a Prisma client that the transaction test uses: a `Note` model. */
export interface NotePrismaClient {
  note: {
    findUnique(args: { where: { jobId: string } }): PromiseLike<unknown>
    create(args: { data: { jobId: string; body: string } }): PromiseLike<unknown>
  }
  $transaction<R>(
    fn: (tx: { note: Pick<NotePrismaClient['note'], 'create'> }) => Promise<R>,
    options?: { maxWait?: number; timeout?: number },
  ): Promise<R>
  $disconnect(): Promise<void>
}

/** Options of {@link httpAdapterConformance}. */
export interface HttpAdapterConformanceOptions {
  /** The adapter under test: serves the suite's routes over real HTTP on its framework. */
  adapter: HttpAdapter
  /** Every test runs once per driver. */
  drivers: readonly DriverUnderTest[]
  /**
   * Starts a private redis-server, for the test that stops Redis under a running app (run for a
   * driver named `bullmq` only). @defaultValue none: that test is skipped
   */
  startRedisServer?: () => Promise<PrivateRedisServer>
  /**
   * Creates a PostgreSQL database whose schema has a `Note` table (`jobId` text, unique; `body`
   * text), for the test that commits a row in the handler's transaction and reads it from the
   * job. Give `createPrisma` with it. @defaultValue none: that test is skipped
   */
  createTestDatabase?: () => Promise<TestDatabaseHandle>
  /**
   * A Prisma client with the `Note` model on the database at `url`, with a pool of `max`
   * connections. @defaultValue none: the transaction test is skipped
   */
  createPrisma?: (url: string, options: { max: number }) => NotePrismaClient
}

const email = defineTask({
  name: 'send-email',
  input: z.object({ to: z.email() }),
  run: () => undefined,
})
const plain = defineTask({ name: 'plain', run: (_input: { n: number }) => undefined })
const fivefold = defineTask({
  name: 'fivefold',
  retry: { attempts: 3 },
  run: (_input: number) => undefined,
})

/** Fails the first two attempts of each job, then succeeds. */
const flaky = defineTask({
  name: 'flaky',
  run(_input: { n: number }, ctx) {
    if (ctx.job.attempt < 3) throw new Error(`attempt ${ctx.job.attempt} fails`)
  },
})

const tasks = [email, plain, fivefold, flaky]

/** A driver wrapper that records every enqueue call and the ids the broker confirmed. */
function recording(
  driver: Driver,
  beforeEnqueue: () => Promise<void> = () => Promise.resolve(),
): { driver: Driver; calls: number[]; stored: Set<string> } {
  const calls: number[] = []
  const stored = new Set<string>()
  const proxy = new Proxy(driver, {
    get(target, key) {
      if (key === 'enqueue') {
        return async (records: Parameters<Driver['enqueue']>[0]) => {
          calls.push(records.length)
          await beforeEnqueue()
          const results = await target.enqueue(records)
          for (const result of results) stored.add(result.id)
          return results
        }
      }
      const value: unknown = Reflect.get(target, key)
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value
    },
  })
  return { driver: proxy, calls, stored }
}

/** A pino logger whose lines the test can read. */
function capturingLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => void lines.push(JSON.parse(line)) },
  )
  return { logger, lines }
}

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
  const { adapter, drivers, startRedisServer, createTestDatabase, createPrisma } = options
  for (const driverUnderTest of drivers) {
    describe(`${adapter.name} on ${driverUnderTest.name}`, () => {
      const servers: TestServer[] = []
      afterEach(async () => {
        await Promise.allSettled(servers.splice(0).map((s) => s.close()))
        await closeInstances()
      })

      async function setup(
        routes: TestRoute[],
        options: {
          flush?: FlushMode
          driver?: Driver
          afterward?: Partial<AfterwardOptions>
          beforeEnqueue?: () => Promise<void>
        } = {},
      ) {
        const recorder = recording(options.driver ?? driverUnderTest.make(), options.beforeEnqueue)
        const { logger, lines } = capturingLogger()
        const afterward = instance({ tasks, driver: recorder.driver, logger, ...options.afterward })
        const server = await adapter.serve(afterward, routes, { flush: options.flush, logger })
        servers.push(server)
        const post = (
          path: string,
          init: { headers?: Record<string, string>; body?: unknown } = {},
        ) =>
          fetch(server.url + path, {
            method: 'POST',
            redirect: 'manual',
            headers: { 'content-type': 'application/json', ...init.headers },
            body: JSON.stringify(init.body ?? {}),
          })
        return { afterward, server, post, lines, ...recorder }
      }

      const signup: TestRoute = {
        path: '/signup',
        handle: (request) => {
          const job = request.defer(email, { to: 'ada@example.com' })
          // Read after the defer: the request id is settled by the request's first defer.
          return {
            kind: 'json',
            status: 201,
            body: { jobId: job.id, requestId: request.requestId },
          }
        },
      }

      it('stores the jobs of a 2xx before any of the response goes out', async () => {
        const entered = deferred()
        const gate = deferred()
        const { afterward, post } = await setup([signup], {
          beforeEnqueue: async () => {
            entered.resolve()
            await gate.promise
          },
        })
        const response = post('/signup')
        await entered.promise
        // The broker is holding the jobs: the client must not have its response yet.
        const early = await Promise.race([
          response.then(() => 'response'),
          new Promise((resolve) => setTimeout(() => resolve('held'), 100)),
        ])
        expect(early).toBe('held')
        gate.resolve()
        const answered = await response
        expect(answered.status).toBe(201)
        const { jobId, requestId } = (await answered.json()) as { jobId: string; requestId: string }
        const job = await afterward.jobs.get(jobId)
        expect(job).toMatchObject({
          task: 'send-email',
          requestId,
          input: { to: 'ada@example.com' },
        })
        expect((await afterward.jobs.byRequest(requestId)).map((j) => j.id)).toEqual([jobId])
      })

      it('stores the jobs of a 3xx redirect', async () => {
        const { afterward, post } = await setup([
          {
            path: '/r',
            handle: ({ defer }) => {
              const { id } = defer(plain, { n: 1 })
              return { kind: 'redirect', to: `/done?job=${id}` }
            },
          },
        ])
        const response = await post('/r')
        expect(response.status).toBe(302)
        const id = new URL(response.headers.get('location')!, 'http://x').searchParams.get('job')!
        expect(await afterward.jobs.get(id)).toBeDefined()
      })

      it('keeps the jobs of a request whose client went away after asking', async () => {
        const deferredId = deferred<string>()
        const gate = deferred()
        const { afterward, server } = await setup([
          {
            path: '/slow',
            handle: async ({ defer }) => {
              deferredId.resolve(defer(plain, { n: 1 }).id)
              await gate.promise // the client disconnects while the handler still works
              return { kind: 'json', status: 202, body: { ok: true } }
            },
          },
        ])
        const client = new AbortController()
        const request = fetch(server.url + '/slow', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
          signal: client.signal,
        }).catch((err: unknown) => err)
        const id = await deferredId.promise
        client.abort()
        expect(await request).toBeInstanceOf(Error)
        gate.resolve()
        await waitFor(async () => (await afterward.jobs.get(id)) !== undefined, 'job stored', 5_000)
        expect((await afterward.jobs.get(id))?.task).toBe('plain')
      })

      it.each([
        ['a 4xx', () => ({ kind: 'json', status: 422, body: { error: 'no' } }) as const],
        ['a 5xx', () => ({ kind: 'empty', status: 503 }) as const],
        [
          'a thrown handler',
          () => {
            throw new Error('handler failed')
          },
        ],
      ])('discards the jobs of %s', async (_label, answer) => {
        const { afterward, post, calls, server } = await setup([
          {
            path: '/fail',
            handle: ({ defer }) => {
              defer(plain, { n: 1 })
              defer(plain, { n: 2 })
              return answer()
            },
          },
        ])
        const response = await post('/fail', { headers: { 'x-request-id': 'req-discard-1' } })
        expect(response.status).toBeGreaterThanOrEqual(400)
        await response.arrayBuffer()
        expect(await afterward.jobs.byRequest('req-discard-1')).toEqual([])
        expect(calls).toEqual([])
        expect(server.stats().discarded).toBe(2)
      })

      it('fails the request with a 500 naming the task and path on invalid input, storing nothing', async () => {
        const { afterward, post, lines, calls } = await setup([
          {
            path: '/bad',
            handle: ({ defer }) => {
              defer(plain, { n: 1 })
              defer(email, { to: 'not an email' })
              return { kind: 'json', body: {} }
            },
          },
        ])
        const response = await post('/bad', { headers: { 'x-request-id': 'req-bad-1' } })
        expect(response.status).toBe(500)
        await response.arrayBuffer()
        const logged = lines.find((l) =>
          String((l['err'] as { message?: string })?.message).includes("'send-email'"),
        )
        expect((logged?.['err'] as { message: string }).message).toContain('input.to')
        expect(calls).toEqual([])
        expect(await afterward.jobs.byRequest('req-bad-1')).toEqual([])
      })

      it('applies per-route retries: 3 attempts succeed where the default of 1 fails', async () => {
        const fast = { retry: { backoff: { type: 'fixed', delay: 5 } } } as const
        const { afterward, post } = await setup(
          [
            {
              path: '/retrying',
              options: { retry: { attempts: 3 } },
              handle: ({ defer }) => ({ kind: 'json', body: defer(flaky, { n: 1 }) }),
            },
            {
              path: '/once',
              handle: ({ defer }) => ({ kind: 'json', body: defer(flaky, { n: 2 }) }),
            },
          ],
          { afterward: { defaults: fast } },
        )
        await afterward.worker({ concurrency: 2 }).start()
        const retried = (await (await post('/retrying')).json()) as { id: string }
        const once = (await (await post('/once')).json()) as { id: string }
        expect(await afterward.jobs.wait(retried.id)).toMatchObject({
          state: 'completed',
          attemptsMade: 3,
        })
        expect(await afterward.jobs.wait(once.id)).toMatchObject({
          state: 'failed',
          attemptsMade: 1,
        })
      })

      it('resolves options call site > route > task > createAfterward defaults', async () => {
        const route = { retry: { attempts: 4 } }
        const { afterward, post } = await setup(
          [
            {
              path: '/call',
              options: route,
              handle: ({ defer }) => ({
                kind: 'json',
                body: defer(fivefold, 1, { retry: { attempts: 5 } }),
              }),
            },
            {
              path: '/route',
              options: route,
              handle: ({ defer }) => ({ kind: 'json', body: defer(fivefold, 1) }),
            },
            { path: '/task', handle: ({ defer }) => ({ kind: 'json', body: defer(fivefold, 1) }) },
            {
              path: '/defaults',
              handle: ({ defer }) => ({ kind: 'json', body: defer(plain, { n: 1 }) }),
            },
          ],
          { afterward: { defaults: { retry: { attempts: 2 } } } },
        )
        const attempts: Record<string, number | undefined> = {}
        for (const path of ['/call', '/route', '/task', '/defaults']) {
          const { id } = (await (await post(path)).json()) as { id: string }
          attempts[path] = (await afterward.jobs.get(id))?.maxAttempts
        }
        expect(attempts).toEqual({ '/call': 5, '/route': 4, '/task': 3, '/defaults': 2 })
      })

      it("stores all of a request's jobs in one round trip", async () => {
        const { afterward, post, calls } = await setup([
          {
            path: '/many',
            handle: ({ defer }) => ({
              kind: 'json',
              body: Array.from({ length: 50 }, (_, n) => defer(plain, { n }).id),
            }),
          },
        ])
        const response = await post('/many', { headers: { 'x-request-id': 'req-many-1' } })
        expect(((await response.json()) as string[]).length).toBe(50)
        expect(calls).toEqual([50])
        expect(await afterward.jobs.byRequest('req-many-1')).toHaveLength(50)
      })

      it.each([
        ['chunked stream', (chunks: string[]) => ({ kind: 'stream', chunks }) as const],
        ['file', () => ({ kind: 'file', path: textFile() }) as const],
        ['text', () => ({ kind: 'text', body: 'hello world' }) as const],
      ])(
        'covers a %s response: the job is stored before the first byte',
        async (_label, answer) => {
          const { afterward, post } = await setup([
            {
              path: '/stream',
              handle: ({ defer }) => {
                defer(plain, { n: 1 })
                return answer(['hello', ' ', 'world'])
              },
            },
          ])
          const response = await post('/stream', { headers: { 'x-request-id': 'req-stream-1' } })
          expect(response.status).toBe(200)
          expect(await afterward.jobs.byRequest('req-stream-1')).toHaveLength(1)
          expect(await response.text()).toBe('hello world')
        },
      )

      it('correlates jobs with the request id, from a valid X-Request-Id', async () => {
        const { afterward, post } = await setup([signup])
        const response = await post('/signup', { headers: { 'x-request-id': 'trace-abc.123' } })
        const body = (await response.json()) as { jobId: string; requestId: string }
        expect(body.requestId).toBe('trace-abc.123')
        expect((await afterward.jobs.get(body.jobId))?.requestId).toBe('trace-abc.123')
        expect(response.headers.get('x-request-id')).toBe('trace-abc.123')
      })

      it.each([
        ['200 characters long', 'r'.repeat(200)],
        ['made of every allowed kind of character', 'Ab_9.z:0-x'],
      ])('uses and echoes an X-Request-Id %s', async (_label, id) => {
        const { afterward, post } = await setup([signup])
        const response = await post('/signup', { headers: { 'x-request-id': id } })
        expect(response.headers.get('x-request-id')).toBe(id)
        const { jobId } = (await response.json()) as { jobId: string }
        expect((await afterward.jobs.byRequest(id)).map((j) => j.id)).toEqual([jobId])
      })

      it.each([
        ['too long (201 characters)', 'r'.repeat(201)],
        ['with a space', 'req 1'],
        ['with a tab', 'req\t1'],
        ['empty', ''],
        ['with a character outside [A-Za-z0-9_.:-]', 'req/1;x=<b>'],
        ['with a non-ASCII letter', 'caf\u00e9'],
      ])(
        'replaces an X-Request-Id %s by a new UUID, echoed and stored on the jobs',
        async (_label, sent) => {
          const { afterward, post } = await setup([signup])
          const response = await post('/signup', { headers: { 'x-request-id': sent } })
          expect(response.status).toBe(201)
          const echoed = response.headers.get('x-request-id')
          expect(echoed).toMatch(UUID)
          const { jobId, requestId } = (await response.json()) as {
            jobId: string
            requestId: string
          }
          expect(requestId).toBe(echoed)
          expect((await afterward.jobs.get(jobId))?.requestId).toBe(echoed)
          expect((await afterward.jobs.byRequest(echoed!)).map((j) => j.id)).toEqual([jobId])
        },
      )

      it('generates a new UUID per request when there is no X-Request-Id', async () => {
        const { afterward, post } = await setup([signup])
        const ids: string[] = []
        for (let n = 0; n < 2; n++) {
          const response = await post('/signup')
          const { jobId } = (await response.json()) as { jobId: string }
          const echoed = response.headers.get('x-request-id')!
          expect(echoed).toMatch(UUID)
          expect((await afterward.jobs.get(jobId))?.requestId).toBe(echoed)
          ids.push(echoed)
        }
        expect(ids[0]).not.toBe(ids[1])
      })

      it('leaves the response of a request that defers nothing alone (no X-Request-Id)', async () => {
        const { post } = await setup([
          { path: '/bare', handle: () => ({ kind: 'json', body: { ok: true } }) },
        ])
        const response = await post('/bare', { headers: { 'x-request-id': 'req-bare-1' } })
        expect(await response.json()).toEqual({ ok: true })
        expect(response.headers.get('x-request-id')).toBeNull()
      })

      it('logs a refused defer with the request id, task, JSON path, method and URL', async () => {
        const { post, lines } = await setup([
          {
            path: '/refused',
            handle: ({ defer }) => {
              defer(email, { to: 'not an email' })
              return { kind: 'json', body: {} }
            },
          },
        ])
        const response = await post('/refused', { headers: { 'x-request-id': 'req-refused-1' } })
        expect(response.status).toBe(500)
        expect(response.headers.get('x-request-id')).toBe('req-refused-1')
        await response.arrayBuffer()
        expect(lines).toContainEqual(
          expect.objectContaining({
            level: 50,
            msg: 'defer refused',
            requestId: 'req-refused-1',
            task: 'send-email',
            path: 'input.to',
            method: 'POST',
            url: '/refused',
            err: expect.objectContaining({ code: 'AFTERWARD_INPUT_INVALID' }),
          }),
        )
      })

      it('carries W3C trace headers to the jobs, and drops a malformed traceparent', async () => {
        const seen = new Map<number, unknown>()
        const traced = defineTask({
          name: 'traced',
          run: (input: { n: number }, ctx) => void seen.set(input.n, ctx.job.trace),
        })
        const { afterward, post } = await setup(
          [
            {
              path: '/traced',
              handle: ({ defer, body }) => ({
                kind: 'json',
                body: defer(traced, body as { n: number }),
              }),
            },
          ],
          { afterward: { tasks: [...tasks, traced] } },
        )
        await afterward.worker({ concurrency: 2 }).start()
        const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
        const tracestate = 'congo=t61rcWkgMzE'
        const sent: Record<string, string>[] = [
          { traceparent, tracestate },
          { traceparent: '00-not-a-trace-01', tracestate },
          { traceparent: traceparent.toUpperCase() },
        ]
        for (const [n, headers] of sent.entries()) {
          const { id } = (await (await post('/traced', { headers, body: { n } })).json()) as {
            id: string
          }
          expect((await afterward.jobs.wait(id)).state).toBe('completed')
        }
        expect([...seen.entries()].sort()).toEqual([
          [0, { traceparent, tracestate }],
          [1, undefined],
          [2, undefined],
        ])
      })

      it('a client gone while the handler runs changes nothing: a 4xx then drops the jobs', async () => {
        const entered = deferred()
        const { afterward, server, calls } = await setup([
          {
            path: '/gone',
            handle: async ({ defer, closed }) => {
              defer(plain, { n: 1 })
              entered.resolve()
              await closed // the client went away; the handler goes on and then fails
              return { kind: 'json', status: 422, body: { error: 'no' } }
            },
          },
        ])
        const client = new AbortController()
        const request = fetch(server.url + '/gone', {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-request-id': 'req-gone-1' },
          body: '{}',
          signal: client.signal,
        }).catch((err: unknown) => err)
        await entered.promise
        client.abort()
        expect(await request).toBeInstanceOf(Error)
        await waitFor(async () => server.stats().discarded === 1, 'jobs never discarded')
        expect(calls).toEqual([])
        expect(await afterward.jobs.byRequest('req-gone-1')).toEqual([])
      })

      it('in after-response mode, stores the jobs of a client gone before the answer', async () => {
        const entered = deferred<string>()
        const { afterward, server } = await setup(
          [
            {
              path: '/gone',
              handle: async ({ defer, closed }) => {
                entered.resolve(defer(plain, { n: 1 }).id)
                await closed
                return { kind: 'json', status: 201, body: { ok: true } }
              },
            },
          ],
          { flush: 'after-response' },
        )
        const client = new AbortController()
        const request = fetch(server.url + '/gone', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
          signal: client.signal,
        }).catch((err: unknown) => err)
        const id = await entered.promise
        client.abort()
        expect(await request).toBeInstanceOf(Error)
        await waitFor(async () => (await afterward.jobs.get(id)) !== undefined, 'job never stored')
        expect(server.stats().stored).toBe(1)
      })

      it('in after-response mode, answers first and stores the jobs right after', async () => {
        const { afterward, post, server } = await setup([signup], { flush: 'after-response' })
        const response = await post('/signup')
        expect(response.status).toBe(201)
        const { jobId } = (await response.json()) as { jobId: string }
        await waitFor(
          async () => (await afterward.jobs.get(jobId)) !== undefined,
          'job never stored',
        )
        expect(server.stats().stored).toBe(1)
      })

      it('closing the app with requests in flight loses no job of a 2xx', async () => {
        const gate = deferred()
        let entered = 0
        const allEntered = deferred()
        const { post, stored, server } = await setup([
          {
            path: '/slow',
            handle: async ({ defer }) => {
              if (++entered === 20) allEntered.resolve()
              await gate.promise
              return { kind: 'json', body: defer(plain, { n: entered }) }
            },
          },
        ])
        const responses = Array.from({ length: 20 }, () => post('/slow'))
        await allEntered.promise
        const closing = server.close()
        gate.resolve()
        const ok: string[] = []
        for (const response of await Promise.all(responses)) {
          if (response.status < 300) ok.push(((await response.json()) as { id: string }).id)
          else await response.arrayBuffer()
        }
        await closing
        expect(ok.length).toBeGreaterThan(0)
        for (const id of ok) expect(stored.has(id)).toBe(true)
      })

      it('200 concurrent requests commit a row in a transaction; every job finds its row', async ({
        skip,
      }) => {
        if (createTestDatabase === undefined || createPrisma === undefined) {
          return skip(
            'pass createTestDatabase and createPrisma to httpAdapterConformance to run it',
          )
        }
        const db = await createTestDatabase()
        const prisma = createPrisma(db.url, { max: 20 })
        onTestFinished(async () => {
          await prisma.$disconnect()
          await db.drop()
        })
        const missing: string[] = []
        const readNote = defineTask({
          name: 'read-note',
          async run(_input: { body: string }, ctx) {
            const note = await prisma.note.findUnique({ where: { jobId: ctx.job.id } })
            if (note === null) missing.push(ctx.job.id)
          },
        })
        const { afterward, post } = await setup(
          [
            {
              path: '/note',
              handle: async ({ defer, body }) => {
                const text = (body as { text: string }).text
                const job = await prisma.$transaction(
                  async (tx) => {
                    const deferred = defer(readNote, { body: text })
                    await tx.note.create({ data: { jobId: deferred.id, body: text } })
                    return deferred
                  },
                  { maxWait: 20_000, timeout: 20_000 },
                )
                return { kind: 'json', status: 201, body: job }
              },
            },
          ],
          { afterward: { tasks: [...tasks, readNote] } },
        )
        await afterward.worker({ concurrency: 20 }).start()
        const responses = await Promise.all(
          Array.from({ length: 200 }, (_, n) => post('/note', { body: { text: `note ${n}` } })),
        )
        const ids = await Promise.all(
          responses.map(async (r) => ((await r.json()) as { id: string }).id),
        )
        expect(responses.every((r) => r.status === 201)).toBe(true)
        const jobs = await Promise.all(ids.map((id) => afterward.jobs.wait(id)))
        expect(jobs.every((j) => j.state === 'completed')).toBe(true)
        expect(missing).toEqual([])
      })

      if (driverUnderTest.name === 'bullmq') brokerDown(adapter)

      function brokerDown(adapter: HttpAdapter): void {
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
          await waitFor(
            async () => server.stats().afterResponseFailures === 1,
            'failure never counted',
          )
          expect(lines).toContainEqual(
            expect.objectContaining({ level: 50, requestId: 'req-after-1' }),
          )
        })
      }
    })
  }
}

let file: string | undefined
function textFile(): string {
  if (file === undefined) {
    file = join(mkdtempSync(join(tmpdir(), 'aw-http-')), 'hello.txt')
    writeFileSync(file, 'hello world')
  }
  return file
}
