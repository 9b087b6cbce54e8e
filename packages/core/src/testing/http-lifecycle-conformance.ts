// The HTTP suite's tests of a request's life around its jobs: a client that goes away, the
// `after-response` flush mode, closing the app with requests in flight, and jobs deferred inside
// the handler's database transaction. Registered by httpAdapterConformance.
import { expect, it, onTestFinished } from 'vitest'
import { defineTask } from '../index.js'
import { plain, signup, tasks, type HttpSuite } from './http-suite.js'
import { deferred } from './support.js'
import { waitFor } from './wait-for.js'

/** Clients gone, after-response mode, shutdown, and a handler's transaction. */
export function lifecycleTests({ setup, createTestDatabase, createPrisma }: HttpSuite): void {
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
    await waitFor(async () => (await afterward.jobs.get(jobId)) !== undefined, 'job never stored')
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
      return skip('pass createTestDatabase and createPrisma to httpAdapterConformance to run it')
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
}
