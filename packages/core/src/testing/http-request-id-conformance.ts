// The HTTP suite's tests of request correlation: X-Request-Id used, echoed or replaced, a log line
// for a refused defer, and W3C trace headers carried to the jobs. Registered by
// httpAdapterConformance.
import { expect, it } from 'vitest'
import { defineTask } from '../index.js'
import { UUID, email, signup, tasks, type HttpSuite } from './http-suite.js'

/** Request ids and trace context, from the request's headers to its jobs and logs. */
export function requestIdTests({ setup }: HttpSuite): void {
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
}
