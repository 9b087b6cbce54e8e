// The driver suite on BullMQ's PostgreSQL backend, plus what only PostgreSQL has: its options,
// migrations and an unreachable server. One database for this file (NOTIFY channels are
// per database), one schema per driver (as a key prefix per driver on Redis).
import { Queue, createPostgresBackend } from 'bullmq'
import pg from 'pg'
import { pino } from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ErrorCode, defineTask } from '@afterward/core'
import { bullmq, migrateBullmqPostgres } from '@afterward/core/bullmq'
import { driverConformance, scheduleConformance } from '@afterward/core/conformance'
import type { AfterwardError } from '@afterward/core'
import { expectFastEnqueueFailure, instance, thrown } from '../support/afterward.js'
import { createTestDatabase, type TestDatabase } from '../support/pg.js'
import { freePort, uniqueQueueName } from '../support/redis.js'
import { limitConformance } from './limits.js'
import { retentionSuite } from './retention.js'

let db: TestDatabase
beforeAll(async () => {
  db = await createTestDatabase()
})
afterAll(() => db?.drop())

const schema = (): string => uniqueQueueName('aw').replace('-', '_')

driverConformance({
  name: 'bullmq on PostgreSQL',
  makeDriver: () => bullmq({ postgres: { connectionString: db.url, schema: schema(), max: 4 } }),
  // BullMQ's PostgreSQL backend drops a job's stacks when it is retried.
  errorsKeptOnRetry: false,
})

{
  let shared = ''
  /** A BullMQ queue of another application, in the same schema. */
  const theirs = () =>
    new Queue(
      'default',
      { connection: { connectionString: db.url, schema: shared } } as never,
      createPostgresBackend as never,
    )
  scheduleConformance({
    name: 'bullmq on PostgreSQL',
    makeNamespace: () => {
      shared = schema()
      return () => bullmq({ postgres: { connectionString: db.url, schema: shared, max: 4 } })
    },
    foreign: {
      async create() {
        await migrateBullmqPostgres({ connectionString: db.url, schema: shared })
        const queue = theirs()
        await queue.upsertJobScheduler('their-report', { every: 60_000 }, { name: 'report' })
        await queue.close()
      },
      async exists() {
        const queue = theirs()
        const found = await queue.getJobScheduler('their-report')
        await queue.close()
        return found !== undefined
      },
    },
  })
}

limitConformance('bullmq on PostgreSQL', {
  kind: 'bullmq',
  options: () => ({ postgres: { connectionString: db.url, schema: schema(), max: 4 } }),
})

retentionSuite('bullmq on PostgreSQL', (keep) =>
  bullmq({ postgres: { connectionString: db.url, schema: schema(), max: 4 }, ...keep }),
)

const ping = defineTask({ name: 'ping', run: (_input: number) => undefined })

describe('bullmq on PostgreSQL', () => {
  it('takes exactly one of `connection` and `postgres`, and no Redis prefix with postgres', () => {
    const code = (fn: () => unknown): unknown => (thrown(fn) as AfterwardError | undefined)?.code
    const url = 'postgres://postgres@127.0.0.1:5432/test'
    expect(code(() => bullmq({}))).toBe(ErrorCode.CONFIG_INVALID)
    expect(code(() => bullmq({ connection: 'redis://127.0.0.1', postgres: url }))).toBe(
      ErrorCode.CONFIG_INVALID,
    )
    expect(() => bullmq({ postgres: url, prefix: 'x' })).toThrow(/postgres\.schema/)
    expect(() => bullmq({ postgres: { connectionString: url, schema: 'a-b' } })).toThrow(
      /not a plain identifier/,
    )
    expect(() => bullmq({ postgres: { connectionString: '' } })).toThrow(/connection string/)
  })

  it('fails an enqueue fast when nothing listens on the port, and never hangs', async () => {
    const port = await freePort()
    const afterward = instance({
      tasks: [ping],
      driver: bullmq({ postgres: `postgres://postgres@127.0.0.1:${port}/test` }),
      enqueueTimeout: 500,
    })
    await expectFastEnqueueFailure(() => afterward.enqueue(ping, 1), /PostgreSQL is not reachable/)
    await expect(afterward.jobs.get('nope')).rejects.toMatchObject({
      code: ErrorCode.BROKER_UNAVAILABLE,
    })
  })

  it('jobs.list and jobs.counts reject with AFTERWARD_BROKER_UNAVAILABLE', async () => {
    const port = await freePort()
    const afterward = instance({
      tasks: [ping],
      driver: bullmq({ postgres: `postgres://postgres@127.0.0.1:${port}/test` }),
    })
    const unavailable = {
      code: ErrorCode.BROKER_UNAVAILABLE,
      message: expect.stringMatching(/PostgreSQL is not reachable/),
    }
    await expect(afterward.jobs.list()).rejects.toMatchObject(unavailable)
    await expect(afterward.jobs.list({ queue: 'default' })).rejects.toMatchObject(unavailable)
    await expect(afterward.jobs.counts()).rejects.toMatchObject(unavailable)
    await expect(afterward.jobs.counts({ queue: 'default' })).rejects.toMatchObject(unavailable)
  })

  it('with migrate: false, refuses an unmigrated schema until migrateBullmqPostgres() ran', async () => {
    const postgres = { connectionString: db.url, schema: schema(), migrate: false }
    const afterward = instance({ tasks: [ping], driver: bullmq({ postgres }) })
    await expect(afterward.jobs.get('nope')).rejects.toMatchObject({
      code: ErrorCode.CONFIG_INVALID,
      message: expect.stringMatching(/not initialized.*migrateBullmqPostgres\(\)/),
    })
    await migrateBullmqPostgres(postgres)
    const scope = afterward.scope({ requestId: 'req-migrated' })
    const { id } = scope.defer(ping, 1)
    await scope.flush()
    expect(await afterward.jobs.byRequest('req-migrated')).toMatchObject([{ id, state: 'waiting' }])
  })

  it('migrates once when many drivers start on a fresh schema at the same time', async () => {
    const postgres = { connectionString: db.url, schema: schema() }
    const drivers = Array.from({ length: 4 }, () =>
      instance({ tasks: [ping], driver: bullmq({ postgres }) }),
    )
    const results = await Promise.all(drivers.map((a, i) => a.enqueue(ping, i)))
    for (const { id } of results) expect((await drivers[0]!.jobs.get(id))?.state).toBe('waiting')
  })
})

describe('bullmq on PostgreSQL: task limits', () => {
  it('holds limited jobs, saying to migrate, while a migrate: false schema lacks the limit tables', async () => {
    const postgres = { connectionString: db.url, schema: schema(), migrate: false }
    await migrateBullmqPostgres(postgres)
    // As a schema migrated by a version without limits.
    const client = new pg.Client({ connectionString: db.url })
    await client.connect()
    await client.query(
      `DROP FUNCTION ${postgres.schema}.afterward_limit_acquire; DROP TABLE ${postgres.schema}.afterward_limit_slots`,
    )
    await client.end()
    const warnings: { msg: string; err?: { message: string } }[] = []
    const logger = pino(
      { level: 'warn' },
      { write: (l: string) => void warnings.push(JSON.parse(l)) },
    )
    const limited = defineTask({ name: 'limited', limit: { concurrency: 1 }, run: () => undefined })
    const afterward = instance({ tasks: [limited], driver: bullmq({ postgres }), logger })
    await afterward.worker().start()
    const { id } = await afterward.enqueue(limited, undefined)
    await expect
      .poll(() => warnings.find((w) => w.msg === 'could not check the task limits; will ask again'))
      .toMatchObject({ err: { message: expect.stringMatching(/run migrateBullmqPostgres\(\)/) } })
    expect(await afterward.jobs.get(id)).toMatchObject({ attemptsMade: 0 })
    await migrateBullmqPostgres(postgres)
    expect(await afterward.jobs.wait(id)).toMatchObject({ state: 'completed', attemptsMade: 1 })
  })
})
