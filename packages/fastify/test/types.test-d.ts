import Fastify from 'fastify'
import { describe, expectTypeOf, it } from 'vitest'
import { z } from 'zod'
import { defineTask, type Afterward, type DeferredJob } from '@afterward/core'
import afterwardPlugin, { type AfterwardPluginOptions } from '@afterward/fastify'

const sendEmail = defineTask({
  name: 'send-email',
  input: z.object({ to: z.string() }),
  run: () => undefined,
})
const app = Fastify()
declare const afterward: Afterward

describe('@afterward/fastify types', () => {
  it('registers with typed options', () => {
    void app.register(afterwardPlugin, {
      afterward,
      flush: 'after-response',
      closeOnShutdown: false,
    })
    // @ts-expect-error `afterward` is required
    void app.register(afterwardPlugin, {})
    expectTypeOf<AfterwardPluginOptions['flush']>().toEqualTypeOf<
      'before-response' | 'after-response' | undefined
    >()
  })

  it('types reply.defer from the task and takes route options in config.defer', () => {
    app.post('/x', { config: { defer: { retry: { attempts: 3 } } } }, async (_req, reply) => {
      const job = reply.defer(sendEmail, { to: 'a@example.com' })
      expectTypeOf(job).toEqualTypeOf<DeferredJob>()
      reply.defer(sendEmail, { to: 'a@example.com' }, { priority: 'high' })
      // @ts-expect-error `to` must be a string
      reply.defer(sendEmail, { to: 1 })
      // @ts-expect-error the input is required
      reply.defer(sendEmail)
      // @ts-expect-error not a priority
      reply.defer(sendEmail, { to: 'a' }, { priority: 'urgent' })
      return job
    })
    // @ts-expect-error route options are JobOptions
    app.get('/y', { config: { defer: { retry: { attempts: '3' } } } }, async () => 'ok')
    expectTypeOf(app.afterwardStats.afterResponseFailures).toBeNumber()
  })
})
