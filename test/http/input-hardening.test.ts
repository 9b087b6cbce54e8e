// Hostile request bodies through real routes on Fastify, Express 5 and Express 4, where a user's
// `reply.defer(task, request.body)` meets them: input nested 10,000 deep must be refused with an
// AFTERWARD_* error (never a stack overflow), and the keys `__proto__`, `constructor` and
// `prototype` of a JSON.parse'd body stay plain data from the request to the task (Fastify's
// own body parser refuses them first, by default).
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import express from 'express'
import express4 from 'express4'
import Fastify from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { bullmq, defineTask, memory, type Afterward, type Driver } from '@afterward/core'
import { afterwardMiddleware } from '@afterward/express'
import afterwardPlugin from '@afterward/fastify'
import { instance } from '../support/afterward.js'
import { redisUrl, uniqueQueueName } from '../support/redis.js'

const received: unknown[] = []
/** Takes any JSON, as a task without a schema does: only the JSON check stands in the way. */
const store = defineTask({ name: 'store', run: (input: unknown) => void received.push(input) })

interface App {
  url: string
  close(): Promise<void>
}

/** A Fastify app with its default settings and error handler. */
async function fastifyApp(afterward: Afterward): Promise<App> {
  const app = Fastify()
  await app.register(afterwardPlugin, { afterward })
  app.post('/store', async (request, reply) => ({ jobId: reply.defer(store, request.body).id }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  return {
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    close: () => app.close(),
  }
}

/** An Express app as its guide writes one: express.json(), and an error handler that answers JSON. */
function expressApp(factory: typeof express) {
  return async (afterward: Afterward): Promise<App> => {
    const app = factory()
    app.use(factory.json())
    app.use(afterwardMiddleware({ afterward }))
    app.post('/store', (req, res) => void res.json({ jobId: res.defer(store, req.body).id }))
    app.use(
      (
        err: Error & { code?: string },
        _req: express.Request,
        res: express.Response,
        _next: express.NextFunction,
      ) => {
        res
          .status(err.code === 'AFTERWARD_INPUT_INVALID' ? 400 : 500)
          .json({ code: err.code, message: err.message })
      },
    )
    const server = app.listen(0, '127.0.0.1')
    await once(server, 'listening')
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    }
  }
}

const apps: [string, (afterward: Afterward) => Promise<App>][] = [
  ['fastify', fastifyApp],
  ['express 5', expressApp(express)],
  ['express 4', expressApp(express4)],
]
const drivers: [string, () => Driver][] = [
  ['memory', () => memory()],
  ['bullmq', () => bullmq({ connection: redisUrl, prefix: uniqueQueueName('aw') })],
]

let open: App | undefined
afterEach(async () => {
  await open?.close()
  open = undefined
  received.length = 0
})

async function serve(makeApp: (afterward: Afterward) => Promise<App>, driver: Driver) {
  const afterward = instance({ tasks: [store], driver })
  open = await makeApp(afterward)
  const post = (body: string) =>
    fetch(`${open!.url}/store`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    })
  return { afterward, post }
}

describe.each(apps)('%s', (_, makeApp) => {
  it('refuses a body nested 10,000 deep with AFTERWARD_INPUT_INVALID, not a stack overflow', async () => {
    const { afterward, post } = await serve(makeApp, memory())
    const body = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000)
    expect(body.length).toBeLessThan(64 * 1024)
    const response = await post(body)
    const answer = (await response.json()) as { code?: string; message?: string }
    expect(answer.code).toBe('AFTERWARD_INPUT_INVALID')
    expect(answer.message).toContain('nested deeper than 100 levels')
    expect(answer.message).not.toMatch(/call stack/i)
    // The app still serves, and nothing was stored.
    expect((await post('{"a":1}')).status).toBe(200)
    await afterward.worker().start()
    await expect.poll(() => received).toEqual([{ a: 1 }])
  })
})

const hostile = [
  '{"__proto__":{"admin":true},"name":"x"}',
  '{"constructor":{"prototype":{"admin":true}},"name":"x"}',
  '{"nested":[{"__proto__":{"admin":true}}],"prototype":1}',
]

describe.each(drivers)('on %s', (_, makeDriver) => {
  describe.each(apps.slice(1))('%s (express.json() keeps every key)', (_, makeApp) => {
    it.each(hostile)(
      'runs the task with %s as plain data, keys and values unchanged',
      async (body) => {
        const { afterward, post } = await serve(makeApp, makeDriver())
        const response = await post(body)
        expect(response.status).toBe(200)
        const { jobId } = (await response.json()) as { jobId: string }
        await afterward.worker().start()
        expect((await afterward.jobs.wait(jobId, { timeout: 10_000 })).state).toBe('completed')
        const [input] = received as Record<string, unknown>[]
        expect(JSON.stringify(input)).toBe(body)
        // Data, not a prototype: nothing is inherited, and Object.prototype is untouched.
        expect(Object.getPrototypeOf(input)).toBe(Object.prototype)
        expect((input as { admin?: unknown }).admin).toBeUndefined()
        expect(({} as { admin?: unknown }).admin).toBeUndefined()
      },
    )
  })

  it.each(hostile.slice(0, 2))(
    'Fastify refuses %s with 400 by default, and stores nothing',
    async (body) => {
      const { afterward, post } = await serve(fastifyApp, makeDriver())
      const response = await post(body)
      expect(response.status).toBe(400)
      await afterward.worker().start()
      expect((await post('{"ok":true}')).status).toBe(200)
      await expect.poll(() => received).toEqual([{ ok: true }])
    },
  )
})
