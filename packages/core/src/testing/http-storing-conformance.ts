// The HTTP suite's tests of which responses keep their request's jobs: a 2xx (stored before any
// byte goes out) and a 3xx keep them, even when the client went away; a 4xx, a 5xx, a throw or
// an invalid input drops them. Registered by httpAdapterConformance.
import { expect, it } from 'vitest'
import { deferred } from './support.js'
import { email, plain, signup, type HttpSuite } from './http-suite.js'
import { waitFor } from './wait-for.js'

/** Jobs stored with a successful response, dropped with a failed one. */
export function storingTests({ setup }: HttpSuite): void {
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
}
