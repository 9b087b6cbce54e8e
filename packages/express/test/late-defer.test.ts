// A defer once the response has started cannot keep the "stored before the response" promise:
// it is refused, and nothing is stored.
import type { AddressInfo } from 'node:net'
import express from 'express'
import { describe, expect, it, onTestFinished } from 'vitest'
import { AfterwardError, ErrorCode, defineTask, memory } from '@afterward/core'
import { afterwardMiddleware } from '@afterward/express'
import { instance } from '../../../test/support/afterward.js'

const task = defineTask({ name: 'noop', run: () => undefined })

describe('defer after the response started', () => {
  it('is refused with AFTERWARD_CLOSED and stores nothing', async () => {
    const afterward = instance({ tasks: [task], driver: memory() })
    const app = express()
    app.use(afterwardMiddleware({ afterward }))
    let refused: unknown
    app.get('/late', (_req, res) => {
      res.status(200).json({ ok: true })
      try {
        res.defer(task)
      } catch (err) {
        refused = err
      }
    })
    const server = app.listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const response = await fetch(
      `http://127.0.0.1:${(server.address() as AddressInfo).port}/late`,
      {
        headers: { 'x-request-id': 'req-late-1' },
      },
    )
    expect(await response.json()).toEqual({ ok: true })
    expect(refused).toBeInstanceOf(AfterwardError)
    expect((refused as AfterwardError).code).toBe(ErrorCode.CLOSED)
    expect((refused as AfterwardError).message).toMatch(/response has already started/)
    expect(await afterward.jobs.byRequest('req-late-1')).toEqual([])
  })
})
