import express from 'express'
import { describe, expectTypeOf, it } from 'vitest'
import { z } from 'zod'
import { defineTask, type DeferredJob, type FlushStats } from '@afterward/core'
import { afterwardMiddleware, deferOptions } from '@afterward/express'

const sendEmail = defineTask({
  name: 'send-email',
  input: z.object({ to: z.string() }),
  run: () => undefined,
})
const app = express()

describe('@afterward/express types', () => {
  it('types res.defer from the task', () => {
    app.post('/x', deferOptions({ retry: { attempts: 3 } }), async (_req, res) => {
      const job = res.defer(sendEmail, { to: 'a@example.com' })
      expectTypeOf(job).toEqualTypeOf<DeferredJob>()
      // @ts-expect-error `to` must be a string
      res.defer(sendEmail, { to: 1 })
      // @ts-expect-error unknown field
      res.defer(sendEmail, { to: 'a', cc: 'b' }, { nope: true })
      res.json(job)
    })
  })

  it('checks options', () => {
    // @ts-expect-error `afterward` is required
    afterwardMiddleware({})
    // @ts-expect-error not a JobOptions
    deferOptions({ retry: { attempts: '3' } })
    expectTypeOf<ReturnType<typeof afterwardMiddleware>['stats']>().toEqualTypeOf<
      Readonly<FlushStats>
    >()
  })
})
