// The afterward binary against BullMQ on Redis and on PostgreSQL: a read-only view from a broker
// URL (no task code), and retry / remove through an app's config (fixtures/bullmq).
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  PermanentError,
  bullmq,
  createAfterward,
  defineTask,
  type Afterward,
  type Driver,
} from '@afterward/core'
import { silentLogger } from '../support/afterward.js'
import { createTestDatabase, type TestDatabase } from '../support/pg.js'
import { freePort, redisUrl, uniqueQueueName } from '../support/redis.js'
import { afterward as cli, fixtures, json } from './run-cli.js'

interface Broker {
  driver(): Driver
  /** Arguments of the read-only view. */
  readOnly: string[]
  /** Environment of the app config in fixtures/bullmq. */
  configEnv: Record<string, string>
}

const charge = defineTask({
  name: 'charge',
  run: (input: { cents: number }) => {
    if (input.cents > 600) throw new PermanentError(`card declined for ${input.cents} cents`)
  },
})

function brokerSuite(name: string, broker: () => Broker): void {
  describe(`afterward CLI on ${name}`, () => {
    let app: Afterward
    let ok: string
    let declined: string
    const config = (): { cwd: string; env: Record<string, string> } => ({
      cwd: join(fixtures, 'bullmq'),
      env: broker().configEnv,
    })

    beforeAll(async () => {
      // Kept for the whole describe (support's instance() closes after each test).
      app = createAfterward({ tasks: [charge], driver: broker().driver(), logger: silentLogger })
      const worker = app.worker()
      await worker.start()
      const scope = app.scope({ requestId: 'req-cli' })
      ok = scope.defer(charge, { cents: 500 }).id
      declined = scope.defer(charge, { cents: 700 }).id
      await scope.flush()
      await Promise.all([app.jobs.wait(ok), app.jobs.wait(declined)])
      // No worker from here on: what the CLI changes stays as it left it.
      await worker.close()
    })
    afterAll(() => app.close())

    it('reads a request, a job with its error and stack, lists and stats without task code', async () => {
      const { readOnly } = broker()
      const [table, request, job, failed, stats] = await Promise.all([
        cli([...readOnly, 'request', 'req-cli']),
        cli([...readOnly, 'request', 'req-cli', '--json']),
        cli([...readOnly, 'job', declined, '--json']),
        cli([...readOnly, 'list', '--state', 'failed', '--json']),
        cli([...readOnly, 'stats', '--json']),
      ])
      expect(table.code).toBe(0)
      expect(table.stdout).toMatch(/^Request req-cli: 2 jobs: 1 completed, 1 failed\n/)
      expect(table.stdout).toContain(`${declined}  charge  failed     1/1`)
      // Both deferred in the same millisecond maybe: in either order.
      const jobs = json<{ jobs: { id: string }[] }>(request).jobs
      expect(jobs).toHaveLength(2)
      expect(jobs).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ id: ok, state: 'completed', input: { cents: 500 } }),
          expect.objectContaining({ id: declined, state: 'failed' }),
        ]),
      )
      expect(json(job)).toMatchObject({
        id: declined,
        requestId: 'req-cli',
        errors: [
          {
            code: 'AFTERWARD_PERMANENT',
            message: 'card declined for 700 cents',
            stack: expect.stringMatching(
              /^PermanentError: card declined for 700 cents\n\s+at .*cli-bullmq\.test\.ts/,
            ),
          },
        ],
      })
      expect(json<{ jobs: { id: string }[] }>(failed).jobs.map((j) => j.id)).toEqual([declined])
      expect(json(stats)).toMatchObject({
        queues: [{ queue: 'default', counts: { completed: 1, failed: 1, waiting: 0 } }],
      })
    })

    it('refuses retry and remove in the read-only view, pointing at --config', async () => {
      const { readOnly } = broker()
      const [retry, remove] = await Promise.all([
        cli([...readOnly, 'retry', declined, '--yes']),
        cli([...readOnly, 'remove', ok, '--yes']),
      ])
      for (const result of [retry, remove]) {
        expect(result.code).toBe(2)
        expect(result.stderr).toMatch(
          /changes jobs, and a broker URL .* gives a read-only view\. Run it with your config: --config/,
        )
      }
      expect((await app.jobs.get(declined))?.state).toBe('failed')
      expect((await app.jobs.get(ok))?.state).toBe('completed')
    })

    it('retries and removes through the app config; the broker shows the change', async () => {
      const retried = await cli(['retry', declined, '--yes'], config())
      expect(retried).toMatchObject({ code: 0, stdout: `retried  ${declined}  charge\n` })
      expect(await app.jobs.get(declined)).toMatchObject({ state: 'waiting', attemptsMade: 0 })
      const again = await cli(['retry', '--state', 'failed', '--yes', '--json'], config())
      expect(again.code).toBe(1)
      expect(json(again)).toEqual({ retried: [], errors: [] })
      const removed = await cli(['remove', ok, '--yes'], config())
      expect(removed).toMatchObject({ code: 0, stdout: `removed  ${ok}  charge\n` })
      expect(await app.jobs.get(ok)).toBeUndefined()
      const gone = await cli(['job', ok], config())
      expect(gone.code).toBe(1)
    })
  })
}

const prefix = uniqueQueueName('aw')
brokerSuite('BullMQ on Redis (--redis, then REDIS_URL)', () => ({
  driver: () => bullmq({ connection: redisUrl, prefix }),
  readOnly: ['--redis', redisUrl, '--prefix', prefix],
  configEnv: { REDIS_URL: redisUrl, TEST_PREFIX: prefix },
}))

describe('afterward CLI read-only, without a config', () => {
  it('uses REDIS_URL when no config is found, and answers 1 for an unknown request', async () => {
    const result = await cli(['request', 'req-none', '--prefix', uniqueQueueName('aw')], {
      cwd: join(fixtures, '..'),
      env: { REDIS_URL: redisUrl },
    })
    expect(result).toMatchObject({ code: 1, stdout: '' })
    expect(result.stderr).toMatch(/^No jobs for request 'req-none'/)
  })

  it('says the broker is unreachable, with exit code 1', async () => {
    const port = await freePort()
    const result = await cli([
      '--postgres',
      `postgres://postgres@127.0.0.1:${port}/test`,
      'request',
      'x',
    ])
    expect(result).toMatchObject({ code: 1, stdout: '' })
    expect(result.stderr).toMatch(
      /^error: \[AFTERWARD_BROKER_UNAVAILABLE\] PostgreSQL is not reachable/,
    )
  })
})

let db: TestDatabase
beforeAll(async () => {
  db = await createTestDatabase()
})
afterAll(() => db?.drop())
const schema = uniqueQueueName('aw').replace('-', '_')
brokerSuite('BullMQ on PostgreSQL (--postgres)', () => ({
  driver: () => bullmq({ postgres: { connectionString: db.url, schema, max: 2 } }),
  readOnly: ['--postgres', db.url, '--schema', schema],
  configEnv: { TEST_POSTGRES_URL: db.url, TEST_SCHEMA: schema },
}))
