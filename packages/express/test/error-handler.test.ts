// A thrown handler's jobs are dropped even when the app's error handler answers below 400.
import type { AddressInfo } from 'node:net'
import express, { type ErrorRequestHandler } from 'express'
import { describe, expect, it, onTestFinished } from 'vitest'
import { defineTask, memory } from '@afterward/core'
import { afterwardErrorHandler, afterwardMiddleware } from '@afterward/express'
import { instance } from '../../../test/support/afterward.js'

const task = defineTask({ name: 'noop', run: () => undefined })

async function serve(withAfterwardHandler: boolean) {
  const afterward = instance({ tasks: [task], driver: memory() })
  const middleware = afterwardMiddleware({ afterward })
  const app = express()
  app.use(middleware)
  app.post('/fails', (_req, res) => {
    res.defer(task)
    throw new Error('handler failed after deferring')
  })
  if (withAfterwardHandler) app.use(afterwardErrorHandler())
  const redirect: ErrorRequestHandler = (_err, _req, res, _next) => res.redirect(303, '/oops')
  app.use(redirect)
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fails`
  const response = await fetch(url, { method: 'POST', redirect: 'manual' })
  return { afterward, response, stats: middleware.stats }
}

describe('afterwardErrorHandler', () => {
  it('drops the jobs of a thrown handler whose error handler redirects', async () => {
    const { afterward, response, stats } = await serve(true)
    expect(response.status).toBe(303)
    const requestId = response.headers.get('x-request-id')!
    expect(await afterward.jobs.byRequest(requestId)).toEqual([])
    expect(stats).toMatchObject({ stored: 0, discarded: 1 })
  })

  it('without it, a 303 from the error handler stores them (the documented gap)', async () => {
    const { afterward, response } = await serve(false)
    expect(response.status).toBe(303)
    expect(await afterward.jobs.byRequest(response.headers.get('x-request-id')!)).toHaveLength(1)
  })
})
