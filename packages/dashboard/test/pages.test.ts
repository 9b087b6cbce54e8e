// What each page and JSON route shows, through the framework-free handler, on every driver:
// memory(), BullMQ on Redis and BullMQ on PostgreSQL.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { bullmq, memory, type Afterward, type Driver } from '@afterward/core'
import { createDashboard, type DashboardOptions } from '@afterward/dashboard'
import { createTestDatabase, type TestDatabase } from '../../../test/support/pg.js'
import { redisUrl, uniqueQueueName } from '../../../test/support/redis.js'
import { afterwardOn, failing, flaky, ok, request, runUntilSettled } from './fixtures.js'

let db: TestDatabase
beforeAll(async () => {
  db = await createTestDatabase()
})
afterAll(() => db?.drop())
beforeEach(() => {
  failing.fixed = false
})

const drivers: Array<[string, () => Driver]> = [
  ['memory()', () => memory()],
  ['bullmq on Redis', () => bullmq({ connection: redisUrl, prefix: uniqueQueueName('dash') })],
  [
    'bullmq on PostgreSQL',
    () =>
      bullmq({
        postgres: { connectionString: db.url, schema: uniqueQueueName('dash').replace('-', '_') },
      }),
  ],
]

/** GETs a path from the handler, as a browser that passed auth would. */
function client(afterward: Afterward, options: Partial<DashboardOptions> = {}) {
  const dashboard = createDashboard({ afterward, auth: false, ...options })
  return async (url: string) => {
    const res = await dashboard.handle({
      method: 'GET',
      base: '/ops',
      url,
      headers: {},
      body: undefined,
      raw: undefined,
    })
    return { ...res, location: res.headers['location'] }
  }
}

describe.each(drivers)('dashboard pages on %s', (_name, makeDriver) => {
  it("search finds a request's jobs and a job by id; the request shows them on a timeline", async () => {
    const afterward = afterwardOn(makeDriver())
    const requestId = uniqueQueueName('req')
    const [failedId, okId] = await request(afterward, requestId, [
      ['flaky', { to: 'ada@example.com', note: 'quota exceeded' }],
      ['ok', { n: 1 }],
    ])
    await runUntilSettled(afterward, [failedId!, okId!])
    const get = client(afterward)

    const byRequest = await get(`/search?q=${requestId}`)
    expect(byRequest.status).toBe(303)
    expect(byRequest.location).toBe(`/ops/requests/${requestId}`)
    const page = await get(`/requests/${requestId}`)
    expect(page.status).toBe(200)
    expect(page.body).toContain(`<h1>Request ${requestId}</h1>`)
    expect(page.body).toContain('2 jobs: 1 completed, 1 failed')
    expect(page.body).toContain(`href="/ops/jobs/${failedId}">send-welcome-email</a>`)
    expect(page.body).toContain(`href="/ops/jobs/${okId}">update-crm</a>`)
    expect(page.body).toContain('mail server said no to ada@example.com: quota exceeded')
    expect(page.body.match(/<svg\b/g)).toHaveLength(2)
    expect(page.body).not.toContain('data-live') // every job finished: no reloading

    expect((await get(`/search?q=%20${failedId}%20`)).location).toBe(`/ops/jobs/${failedId}`)
    const none = await get('/search?q=no-such-id')
    expect(none.status).toBe(404)
    expect(none.body).toContain('No job has the id no-such-id')
    expect((await get(`/requests/no-such-request`)).status).toBe(404)

    const api = await get(`/api/requests/${requestId}`)
    const body = JSON.parse(api.body) as { requestId: string; jobs: Array<Record<string, unknown>> }
    expect(body.requestId).toBe(requestId)
    // Oldest first; the two were deferred in the same millisecond, so either order is right.
    expect(body.jobs.map((j) => [j.id, j.task, j.state]).sort()).toEqual(
      [
        [failedId, 'send-welcome-email', 'failed'],
        [okId, 'update-crm', 'completed'],
      ].sort(),
    )
  })

  it("the job view shows the input, each attempt's error with its stack, and timings", async () => {
    const afterward = afterwardOn(makeDriver())
    const scope = afterward.scope({ requestId: 'req-job' })
    const { id } = scope.defer(
      flaky,
      { to: 'bob@example.com', note: 'mailbox full' },
      { retry: { attempts: 2, backoff: { type: 'fixed', delay: 10 } } },
    )
    await scope.flush()
    await runUntilSettled(afterward, [id])
    const page = await client(afterward)(`/jobs/${id}`)
    expect(page.status).toBe(200)
    expect(page.body).toContain(`<h1>Job ${id}</h1>`)
    expect(page.body).toMatch(/<dt>attempts<\/dt>\s*<dd>2 of 2<\/dd>/)
    expect(page.body).toContain('&quot;to&quot;: &quot;bob@example.com&quot;')
    const errors = page.body.match(/<li class="attempt-error">/g)
    expect(errors).toHaveLength(2)
    expect(page.body).toContain('mail server said no to bob@example.com: mailbox full')
    expect(page.body).toMatch(/<pre class="stack">Error: mail server said no[^<]*\n\s+at /)
    expect(page.body).toContain('action="/ops/jobs/' + id + '/retry"')
    expect(page.body).toMatch(/<dt>enqueued<\/dt>\s*<dd><time datetime="\d{4}-/)

    const api = JSON.parse((await client(afterward)(`/api/jobs/${id}`)).body) as {
      errors: Array<{ message: string; stack: string }>
    }
    expect(api.errors).toHaveLength(2)
    expect(api.errors[0]!.stack).toMatch(/^Error: mail server said no/)
    expect((await client(afterward)('/api/jobs/nope')).status).toBe(404)
  })

  it('lists jobs by state and task a page at a time, and counts them per queue', async () => {
    const afterward = afterwardOn(makeDriver())
    const ids: string[] = []
    for (let n = 0; n < 5; n++) ids.push((await afterward.enqueue(ok, { n })).id)
    await afterward.enqueue(flaky, { to: 'x@example.com', note: 'n' }, { queue: 'mail' })
    const get = client(afterward, { pageSize: 2 })
    // A job still to run: its page reloads itself (the script reads data-live) to show it finish.
    expect((await get(`/jobs/${ids[0]}`)).body).toContain('<main data-live>')

    const seen: string[] = []
    let url: string | undefined = '/jobs?state=waiting&task=update-crm'
    let pages = 0
    while (url !== undefined) {
      const page = await get(url)
      expect(page.status).toBe(200)
      pages += 1
      for (const [, id] of page.body.matchAll(/<a class="id" href="\/ops\/jobs\/([^"]+)">/g))
        seen.push(id!)
      const older = /<a rel="next" href="([^"]+)">Older/.exec(page.body)?.[1]
      url = older?.replaceAll('&amp;', '&').replace(/^\/ops/, '')
    }
    expect(pages).toBe(3)
    // Newest first (by id within a millisecond): every job once, none repeated.
    expect(seen).toHaveLength(5)
    expect(new Set(seen)).toEqual(new Set(ids))

    const home = await get('/')
    expect(home.body).toMatch(/<a href="\/ops\/jobs\?queue=default">default<\/a>/)
    expect(home.body).toContain('href="/ops/jobs?queue=default&amp;state=waiting">5</a>')
    expect(home.body).toContain('href="/ops/jobs?queue=mail&amp;state=waiting">1</a>')
    const counts = JSON.parse((await get('/api/counts')).body) as unknown[]
    expect(counts).toContainEqual({
      queue: 'mail',
      counts: { waiting: 1, delayed: 0, active: 0, completed: 0, failed: 0 },
    })

    const bad = await get('/jobs?state=broken')
    expect(bad.status).toBe(400)
    expect(bad.body).toContain('broken')
    const badApi = await get('/api/jobs?cursor=not-a-cursor')
    expect(badApi.status).toBe(400)
    expect(JSON.parse(badApi.body)).toMatchObject({ code: 'AFTERWARD_OPTIONS_INVALID' })
  })
})

describe('redact', () => {
  it('hides input fields on every page and in the JSON', async () => {
    const afterward = afterwardOn(memory())
    const [id] = await request(afterward, 'req-redact', [
      ['flaky', { to: 'eve@example.com', note: 'n', password: 'hunter2' }],
    ])
    await runUntilSettled(afterward, [id!])
    const get = client(afterward, { redact: ['password'] })
    for (const url of [
      `/jobs/${id}`,
      '/requests/req-redact',
      '/jobs',
      '/',
      `/api/jobs/${id}`,
      '/api/requests/req-redact',
      '/api/jobs?state=failed',
    ]) {
      const res = await get(url)
      expect(res.status, url).toBe(200)
      expect(res.body, url).not.toContain('hunter2')
    }
    expect((await get(`/jobs/${id}`)).body).toContain(
      '&quot;password&quot;: &quot;[redacted]&quot;',
    )
    expect(JSON.parse((await get(`/api/jobs/${id}`)).body).input).toEqual({
      to: 'eve@example.com',
      note: 'n',
      password: '[redacted]',
    })
  })
})

describe('when a change cannot be done', () => {
  it('shows a job again with 409 and the reason when its state does not allow a retry', async () => {
    const afterward = afterwardOn(memory())
    const { id } = await afterward.enqueue(ok, { n: 1 }) // waiting: nothing to retry
    const dashboard = createDashboard({ afterward, auth: false })
    const call = (method: string, url: string, headers: Record<string, string>, body?: string) =>
      dashboard.handle({ method, base: '', url, headers, body, raw: undefined })
    const page = await call('GET', `/jobs/${id}`, {})
    const cookie = page.headers['set-cookie']!.split(';')[0]!
    const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!
    const form = `_csrf=${encodeURIComponent(token)}`

    const refused = await call('POST', `/jobs/${id}/retry`, { cookie }, form)
    expect(refused.status).toBe(409)
    expect(refused.body).toMatch(
      /<p class="error" role="alert">Job &#39;[\w-]+&#39; is waiting; only a failed job can be retried\./,
    )
    expect((await afterward.jobs.get(id))?.state).toBe('waiting')

    const gone = await call('POST', `/jobs/no-such-job/remove`, { cookie }, form)
    expect(gone.status).toBe(404)
    expect(gone.body).toContain('No stored job has the id no-such-job')
  })
})
