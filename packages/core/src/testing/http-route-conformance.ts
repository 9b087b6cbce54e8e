// The HTTP suite's tests of routes: per-route job options and their precedence, one round trip
// for all of a request's jobs, and every kind of response (stream, file, text). Registered by
// httpAdapterConformance.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { fivefold, flaky, plain, type HttpSuite } from './http-suite.js'

/** Route options, batching, and the jobs of streamed and file responses. */
export function routeTests({ setup }: HttpSuite): void {
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
  ])('covers a %s response: the job is stored before the first byte', async (_label, answer) => {
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
  })
}

let file: string | undefined
function textFile(): string {
  if (file === undefined) {
    file = join(mkdtempSync(join(tmpdir(), 'aw-http-')), 'hello.txt')
    writeFileSync(file, 'hello world')
  }
  return file
}
