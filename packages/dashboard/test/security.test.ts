// Auth on every route, CSRF on Retry and Remove, and the refusal to mount without `auth`, on
// the Fastify plugin, the Express middleware and the standalone server (real servers, memory()).
import express from 'express'
import Fastify from 'fastify'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AfterwardError, memory, type Afterward } from '@afterward/core'
import {
  createDashboard,
  dashboardMiddleware,
  dashboardPlugin,
  startDashboard,
} from '@afterward/dashboard'
import {
  afterwardOn,
  capturingLogger,
  failing,
  formSession,
  request,
  runUntilSettled,
} from './fixtures.js'
import { basic, hosts, type Served } from './hosts.js'

const credentials = { username: 'ops', password: 'correct horse' }
const good = { authorization: basic('ops', 'correct horse') }
const served: Served[] = []
afterEach(async () => {
  await Promise.all(served.splice(0).map((s) => s.close()))
})
beforeEach(() => {
  failing.fixed = false
})

/** A failed job (input and error hold a secret-looking value) in request `req-sec`. */
async function failedJob(afterward: Afterward): Promise<string> {
  const [id] = await request(afterward, 'req-sec', [
    ['flaky', { to: 'ada@example.com', note: 'quota', password: 'hunter2' }],
  ])
  await runUntilSettled(afterward, [id!])
  return id!
}

describe.each(hosts)('dashboard auth and CSRF ($name)', (host) => {
  it('answers 401 on every route, assets and JSON included, and changes nothing', async () => {
    const afterward = afterwardOn(memory())
    const id = await failedJob(afterward)
    const dashboard = await host.serve({ afterward, auth: credentials })
    served.push(dashboard)
    const gets = [
      '/',
      '/search?q=req-sec',
      '/jobs',
      '/jobs?state=failed',
      `/jobs/${id}`,
      '/requests/req-sec',
      '/assets/dashboard.css',
      '/assets/dashboard.js',
      '/api/jobs',
      `/api/jobs/${id}`,
      '/api/requests/req-sec',
      '/api/counts',
      '/no-such-page',
    ]
    const wrong = { authorization: basic('ops', 'wrong') }
    for (const path of gets) {
      for (const headers of [{}, wrong, { authorization: 'Bearer abc' }]) {
        const res = await fetch(dashboard.url + path, { headers, redirect: 'manual' })
        const body = await res.text()
        expect(res.status, `GET ${path}`).toBe(401)
        expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm=/)
        expect(body).not.toContain('hunter2')
        expect(body).not.toContain('ada@example.com')
      }
    }
    for (const action of ['retry', 'remove']) {
      const res = await fetch(`${dashboard.url}/jobs/${id}/${action}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: '_csrf=anything',
        redirect: 'manual',
      })
      expect(res.status, `POST ${action}`).toBe(401)
    }
    // A POST of any type and size is refused before its body is read.
    for (const [type, body] of [
      ['application/json', JSON.stringify({ _csrf: 'x', pad: 'y'.repeat(100_000) })],
      ['text/xml', '<a/>'],
    ] as const) {
      const res = await fetch(`${dashboard.url}/jobs/${id}/retry`, {
        method: 'POST',
        headers: { 'content-type': type },
        body,
      })
      expect(res.status, `POST ${type}`).toBe(401)
    }
    const json = await fetch(`${dashboard.url}/api/counts`)
    expect(await json.json()).toEqual({
      code: 'AFTERWARD_UNAUTHORIZED',
      message: 'Authenticate first.',
    })
    expect((await afterward.jobs.get(id))?.state).toBe('failed')

    // The same routes with the credentials.
    for (const path of gets) {
      const res = await fetch(dashboard.url + path, { headers: good, redirect: 'manual' })
      const expected = path === '/no-such-page' ? 404 : path.startsWith('/search') ? 303 : 200
      expect(res.status, `GET ${path}`).toBe(expected)
    }
  })

  it('asks an auth function, given the framework request, and denies when it throws', async () => {
    const { logger, lines } = capturingLogger()
    const afterward = afterwardOn(memory(), logger)
    const seen: unknown[] = []
    const dashboard = await host.serve({
      afterward,
      auth: (req: { headers: Record<string, unknown> }) => {
        seen.push(req)
        if (req.headers['x-boom'] === '1') throw new Error('session store down')
        return Promise.resolve(req.headers['x-admin'] === 'yes')
      },
    })
    served.push(dashboard)
    expect((await fetch(`${dashboard.url}/api/counts`)).status).toBe(401)
    const denied = await fetch(`${dashboard.url}/`, { headers: { 'x-admin': 'no' } })
    expect(denied.status).toBe(401)
    expect(denied.headers.get('www-authenticate')).toBeNull()
    expect(await denied.text()).toContain('Sign in to the application first')
    expect((await fetch(`${dashboard.url}/`, { headers: { 'x-admin': 'yes' } })).status).toBe(200)
    const boom = await fetch(`${dashboard.url}/`, { headers: { 'x-admin': 'yes', 'x-boom': '1' } })
    expect(boom.status).toBe(401)
    expect(
      lines().some((l) => l.msg === 'dashboard auth function failed; the request is denied'),
    ).toBe(true)
    expect(seen.length).toBe(4)
  })

  it('refuses Retry and Remove without a valid CSRF token, and accepts them with one', async () => {
    const afterward = afterwardOn(memory())
    const id = await failedJob(afterward)
    const dashboard = await host.serve({ afterward, auth: credentials })
    served.push(dashboard)
    const jobUrl = `${dashboard.url}/jobs/${id}`
    const mine = await formSession(jobUrl, good)
    const theirs = await formSession(jobUrl, good)
    const post = (action: string, cookie: string | undefined, body: string) =>
      fetch(`${jobUrl}/${action}`, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          ...good,
          'content-type': 'application/x-www-form-urlencoded',
          ...(cookie ? { cookie } : {}),
        },
        body,
      })
    const token = encodeURIComponent(mine.token)
    const refusals = [
      ['no token', mine.cookie, ''],
      ['empty token', mine.cookie, '_csrf='],
      ['no cookie', undefined, `_csrf=${token}`],
      ["another browser's token", mine.cookie, `_csrf=${encodeURIComponent(theirs.token)}`],
      ['a made-up token', mine.cookie, '_csrf=abc-def'],
    ] as const
    for (const [what, cookie, body] of refusals) {
      for (const action of ['retry', 'remove']) {
        const res = await post(action, cookie, body)
        expect(res.status, `${action} with ${what}`).toBe(403)
        expect(await res.text()).toContain('Reload the page and try again')
      }
    }
    expect((await afterward.jobs.get(id))?.state).toBe('failed')

    const retried = await post('retry', mine.cookie, `_csrf=${token}`)
    expect(retried.status).toBe(303)
    expect(retried.headers.get('location')).toBe(`${new URL(jobUrl).pathname}?done=retried`)
    expect((await afterward.jobs.get(id))?.state).toBe('waiting')

    const removed = await post('remove', mine.cookie, `_csrf=${token}`)
    expect(removed.status).toBe(303)
    expect(await afterward.jobs.get(id)).toBeUndefined()
  })
})

describe('a form body parsed by the app', () => {
  it('is read from req.body when express.urlencoded() ran first', async () => {
    const afterward = afterwardOn(memory())
    const id = await failedJob(afterward)
    const app = express()
    app.use(express.urlencoded({ extended: false }))
    app.use('/ops', dashboardMiddleware({ afterward, auth: credentials }))
    const server = app.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    try {
      const { port } = server.address() as { port: number }
      const jobUrl = `http://127.0.0.1:${port}/ops/jobs/${id}`
      const { token, cookie } = await formSession(jobUrl, good)
      const res = await fetch(`${jobUrl}/retry`, {
        method: 'POST',
        redirect: 'manual',
        headers: { ...good, cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: `_csrf=${encodeURIComponent(token)}`,
      })
      expect(res.status).toBe(303)
      expect(res.headers.get('location')).toBe(`/ops/jobs/${id}?done=retried`)
      expect((await afterward.jobs.get(id))?.state).toBe('waiting')
    } finally {
      server.close()
    }
  })
})

describe('mounting the dashboard', () => {
  const noAuth = /`auth` is required: pass a function \(request\) => boolean/

  it('refuses to mount without auth, on every entry point', async () => {
    const afterward = afterwardOn(memory())
    const missing = { afterward } as never
    const codeOf = (fn: () => unknown) => {
      try {
        fn()
      } catch (err) {
        expect(err).toBeInstanceOf(AfterwardError)
        expect((err as Error).message).toMatch(noAuth)
        return (err as AfterwardError).code
      }
      return undefined
    }
    expect(codeOf(() => createDashboard(missing))).toBe('AFTERWARD_CONFIG_INVALID')
    expect(codeOf(() => dashboardMiddleware(missing))).toBe('AFTERWARD_CONFIG_INVALID')
    expect(codeOf(() => createDashboard({ afterward, auth: undefined } as never))).toBe(
      'AFTERWARD_CONFIG_INVALID',
    )
    await expect(startDashboard({ afterward, port: 0 } as never)).rejects.toMatchObject({
      code: 'AFTERWARD_CONFIG_INVALID',
      message: expect.stringMatching(noAuth),
    })
    const app = Fastify()
    await expect(app.register(dashboardPlugin, missing)).rejects.toMatchObject({
      code: 'AFTERWARD_CONFIG_INVALID',
      message: expect.stringMatching(/^@afterward\/dashboard \(Fastify\): `auth` is required/),
    })
    await app.close()
  })

  it('refuses credentials it could not check, naming what to fix', () => {
    const afterward = afterwardOn(memory())
    const refused = (auth: unknown) => () => createDashboard({ afterward, auth } as never)
    expect(refused({ username: 'ops', password: '' })).toThrow(
      /non-empty `username` and `password`/,
    )
    expect(refused({ username: 'a:b', password: 'x' })).toThrow(/cannot contain ":"/)
    expect(refused('secret')).toThrow(/non-empty `username` and `password`/)
    expect(refused(true)).toThrow(/non-empty `username` and `password`/)
    expect(() => createDashboard({ afterward, auth: false, pageSize: 0 })).toThrow(/pageSize/)
    expect(() => createDashboard({ afterward, auth: false, redact: 'password' as never })).toThrow(
      /redact must be a list/,
    )
  })

  it('refuses a bad port, and a port in use, with what to do', async () => {
    const afterward = afterwardOn(memory())
    await expect(startDashboard({ afterward, auth: false, port: 70_000 })).rejects.toMatchObject({
      code: 'AFTERWARD_CONFIG_INVALID',
      message: expect.stringMatching(/`port` must be an integer from 0 to 65535/),
    })
    const first = await startDashboard({ afterward, auth: false, port: 0 })
    try {
      await expect(
        startDashboard({ afterward, auth: false, port: first.port }),
      ).rejects.toMatchObject({
        code: 'AFTERWARD_CONFIG_INVALID',
        message: `startDashboard: cannot listen on 127.0.0.1:${first.port} (EADDRINUSE): something else listens there; pass another port, or 0 for a free one.`,
      })
    } finally {
      await first.close()
    }
  })

  it('serves without auth only with auth: false, and logs a warning when it does', async () => {
    const { logger, lines } = capturingLogger()
    const afterward = afterwardOn(memory(), logger)
    const app = express()
    app.use('/afterward', dashboardMiddleware({ afterward, auth: false }))
    const server = app.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    try {
      const { port } = server.address() as { port: number }
      expect((await fetch(`http://127.0.0.1:${port}/afterward/`)).status).toBe(200)
    } finally {
      server.close()
    }
    const warnings = lines().filter((l) => l.level === 40)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]!.msg).toMatch(
      /^@afterward\/dashboard \(Express\) is served with auth: false: anyone who can reach it can read job inputs/,
    )
  })
})
