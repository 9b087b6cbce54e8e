// When a request's scope opens, and what protects the jobs of routes the hooks do not cover.
import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { ErrorCode, defineTask, memory } from '@afterward/core'
import afterwardPlugin from '@afterward/fastify'
import { instance } from '../../../test/support/afterward.js'

const task = defineTask({ name: 'noop', run: (_input: { n: number }) => undefined })

describe('request scope', () => {
  it('opens at the first defer: a request that defers nothing has no scope', async () => {
    const app = Fastify()
    await app.register(afterwardPlugin, {
      afterward: instance({ tasks: [task], driver: memory() }),
    })
    app.get('/quiet', async (req) => ({ scope: req.afterwardScope }))
    app.get('/busy', async (req, reply) => {
      reply.defer(task, { n: 1 })
      reply.defer(task, { n: 2 })
      return { size: req.afterwardScope?.size }
    })
    expect((await app.inject('/quiet')).json()).toEqual({ scope: null })
    expect((await app.inject('/busy')).json()).toEqual({ size: 2 })
    await app.close()
  })

  it('refuses a defer in a route registered before the plugin, whose jobs would be lost', async () => {
    const afterward = instance({ tasks: [task], driver: memory() })
    const app = Fastify()
    app.get('/early', async (_req, reply) => reply.defer(task, { n: 1 }))
    await app.register(afterwardPlugin, { afterward })
    app.get('/late', async (_req, reply) => reply.defer(task, { n: 1 }))
    const early = await app.inject('/early')
    expect(early.statusCode).toBe(500)
    expect(early.json()).toMatchObject({ code: ErrorCode.CONFIG_INVALID })
    expect(early.json().message).toMatch(/registered before @afterward\/fastify/)
    const late = await app.inject('/late')
    expect(late.statusCode).toBe(200)
    expect((await afterward.jobs.get(late.json().id))?.state).toBe('waiting')
    await app.close()
  })

  it('refuses a defer once the response has started, storing nothing', async () => {
    const afterward = instance({ tasks: [task], driver: memory() })
    const app = Fastify()
    await app.register(afterwardPlugin, { afterward })
    let refused: unknown
    app.get('/late', async (_req, reply) => {
      await reply.send({ ok: true })
      try {
        reply.defer(task, { n: 1 })
      } catch (err) {
        refused = err
      }
      return reply
    })
    const response = await app.inject({ url: '/late', headers: { 'x-request-id': 'req-late-1' } })
    expect(response.json()).toEqual({ ok: true })
    expect(refused).toMatchObject({ code: ErrorCode.CLOSED })
    expect((refused as Error).message).toMatch(/response has already started/)
    expect(await afterward.jobs.byRequest('req-late-1')).toEqual([])
    await app.close()
  })

  it('stores the jobs of a hijacked reply once its response is over', async () => {
    const afterward = instance({ tasks: [task], driver: memory() })
    const app = Fastify()
    await app.register(afterwardPlugin, { afterward })
    let jobId = ''
    app.get('/stream', (_req, reply) => {
      jobId = reply.defer(task, { n: 1 }).id
      reply.hijack()
      reply.raw.writeHead(200, { 'content-type': 'text/plain' })
      reply.raw.end('done')
    })
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as AddressInfo
    const response = await fetch(`http://127.0.0.1:${port}/stream`)
    expect(await response.text()).toBe('done')
    // The reply skipped onSend; the job is stored when the response closes (no worker runs).
    await expect.poll(() => afterward.jobs.get(jobId).then((j) => j?.state)).toBe('waiting')
    await app.close()
  })
})
