// Compile-time contract of the public API: wrong inputs to enqueue/defer must not compile.
import { describe, expectTypeOf, it } from 'vitest'
import { z } from 'zod'
import {
  bullmq,
  createAfterward,
  defineTask,
  memory,
  type DeferredJob,
  type Delivery,
  type Driver,
  type Inspector,
  type JobListPage,
  type QueueState,
  type Producer,
  type QueueJobCounts,
  type Scheduler,
  type EnqueueResult,
  type Task,
  type TaskContext,
  type TaskInput,
} from '@afterward/core'

const withSchema = defineTask({
  name: 'with-schema',
  input: z.object({ userId: z.number(), at: z.string().transform((s) => new Date(s)) }),
  run(input, ctx) {
    expectTypeOf(input).toEqualTypeOf<{ userId: number; at: Date }>()
    expectTypeOf(ctx.job.attempt).toBeNumber()
    expectTypeOf(ctx.signal).toEqualTypeOf<AbortSignal>()
  },
})
const withoutSchema = defineTask({ name: 'plain', run: (input: { n: number }) => input.n })
const noInput = defineTask({ name: 'no-input', run: () => undefined })
const afterward = createAfterward({ tasks: [withSchema, withoutSchema, noInput], driver: memory() })

describe('public types', () => {
  it('takes the schema input type for defer and enqueue', () => {
    expectTypeOf<TaskInput<typeof withSchema>>().toEqualTypeOf<{ userId: number; at: string }>()
    const scope = afterward.scope()
    expectTypeOf(
      scope.defer(withSchema, { userId: 1, at: '2026-01-01' }),
    ).toEqualTypeOf<DeferredJob>()
    // @ts-expect-error userId must be a number
    scope.defer(withSchema, { userId: '1', at: '2026-01-01' })
    // @ts-expect-error at is missing
    scope.defer(withSchema, { userId: 1 })
    expectTypeOf(
      afterward.enqueue(withSchema, { userId: 1, at: 'x' }),
    ).resolves.toEqualTypeOf<EnqueueResult>()
    // @ts-expect-error wrong input for enqueue too
    void afterward.enqueue(withSchema, { user: 1 })
  })

  it("takes run's parameter type when there is no schema", () => {
    afterward.scope().defer(withoutSchema, { n: 1 })
    // @ts-expect-error n must be a number
    afterward.scope().defer(withoutSchema, { n: 'one' })
  })

  it('lets a task without input be deferred without an argument', () => {
    afterward.scope().defer(noInput)
    // @ts-expect-error a task without input takes none
    afterward.scope().defer(noInput, { x: 1 })
  })

  it('types job options', () => {
    afterward.scope().defer(noInput, undefined, { priority: 'high', retry: { attempts: 3 } })
    // @ts-expect-error priorities are high, normal or low
    afterward.scope().defer(noInput, undefined, { priority: 'urgent' })
  })
})

describe('typed context', () => {
  interface AppContext {
    db: { findUser(id: number): Promise<{ email: string }> }
  }
  it('types ctx from an annotation on run, with or without a schema', () => {
    const withCtx = defineTask({
      name: 'typed-ctx',
      input: z.object({ userId: z.number() }),
      async run(input, ctx: TaskContext<AppContext>) {
        expectTypeOf(input.userId).toBeNumber()
        expectTypeOf(await ctx.db.findUser(input.userId)).toEqualTypeOf<{ email: string }>()
        expectTypeOf(ctx.job.id).toBeString()
      },
    })
    expectTypeOf(withCtx).toEqualTypeOf<Task<{ userId: number }>>()
    const plain = defineTask({
      name: 'typed-ctx-plain',
      run: (input: { id: number }, ctx: TaskContext<AppContext>) => ctx.db.findUser(input.id),
    })
    expectTypeOf(plain).toEqualTypeOf<Task<{ id: number }>>()
  })
})

describe('driver capabilities', () => {
  it('every driver is a producer, an inspector and a delivery; a scheduler is optional', () => {
    expectTypeOf(memory()).toExtend<Producer>()
    expectTypeOf(memory()).toExtend<Inspector>()
    expectTypeOf(memory()).toExtend<Delivery>()
    expectTypeOf(bullmq({ connection: 'redis://127.0.0.1:6379' })).toEqualTypeOf<Driver>()
    expectTypeOf<Driver['scheduler']>().toEqualTypeOf<Scheduler | undefined>()
    // A producer alone is not a driver.
    expectTypeOf<Producer>().not.toExtend<Driver>()
  })

  it('types jobs.list and jobs.counts', () => {
    expectTypeOf(afterward.jobs.list({ state: ['failed', 'active'], limit: 20 })).toEqualTypeOf<
      Promise<JobListPage>
    >()
    expectTypeOf(afterward.jobs.counts()).toEqualTypeOf<Promise<QueueJobCounts[]>>()
    expectTypeOf<QueueJobCounts['counts']>().toEqualTypeOf<Record<QueueState, number>>()
    // @ts-expect-error 'paused' is not a state
    void afterward.jobs.list({ state: 'paused' })
    // @ts-expect-error the cursor is a string returned by list
    void afterward.jobs.list({ cursor: 2 })
  })
})

describe('schedules', () => {
  it("types a schedule's input from the task's schema, and ctx.job.schedule", () => {
    defineTask({
      name: 'digest',
      input: z.object({ period: z.enum(['daily', 'weekly']) }),
      schedule: [
        { id: 'daily', cron: '0 7 * * *', tz: 'Europe/Berlin', input: { period: 'daily' } },
      ],
      run(_input, ctx) {
        expectTypeOf(ctx.job.schedule).toEqualTypeOf<{ id: string; tick: Date } | undefined>()
      },
    })
    defineTask({
      name: 'digest-bad',
      input: z.object({ period: z.enum(['daily', 'weekly']) }),
      // @ts-expect-error 'hourly' is not a period
      schedule: { every: 60_000, input: { period: 'hourly' } },
      run: () => undefined,
    })
    // @ts-expect-error the schedule's input must be { n: number }
    defineTask({
      name: 'plain-bad',
      schedule: { every: 60_000, input: { n: 'one' } },
      run: (_input: { n: number }) => undefined,
    })
    expectTypeOf(afterward.schedules.sync).returns.resolves.toHaveProperty('stale')
    expectTypeOf(afterward.schedules.list).returns.resolves.items.toHaveProperty('nextRunAt')
  })
})

describe('limits', () => {
  it('types limit and rate keys from the input, and ctx.retryAfter as never returning', () => {
    defineTask({
      name: 'keyed',
      input: z.object({ tenantId: z.string() }),
      limit: {
        concurrency: 1,
        key: (input) => {
          expectTypeOf(input).toEqualTypeOf<{ tenantId: string }>()
          return input.tenantId
        },
      },
      rate: { max: 10, per: 1_000, key: (input) => input.tenantId },
      run(_input, ctx) {
        expectTypeOf(ctx.retryAfter).returns.toBeNever()
        expectTypeOf(ctx.job.startedAt).toEqualTypeOf<Date>()
      },
    })
    defineTask({
      name: 'untyped-key',
      // @ts-expect-error a key function returns a string
      limit: { concurrency: 1, key: (input: { n: number }) => input.n },
      run: (_input: { n: number }) => undefined,
    })
  })
})
