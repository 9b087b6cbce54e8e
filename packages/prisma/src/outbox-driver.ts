// A driver in front of another: enqueues, lists and delivers through it unchanged, adds the
// outbox capability (`afterward.deferIn`), shows jobs still in the outbox as `pending`, and runs
// a relay beside the workers of the process.
import {
  AfterwardError,
  ErrorCode,
  type Consumer,
  type Driver,
  type JobInfo,
} from '@afterward/core'
import type { Logger } from 'pino'
import type { OutboxClient, ResolvedOutboxOptions } from './outbox-options.js'
import { createRelay, type OutboxRelay } from './outbox-relay.js'
import { transactionProducer } from './outbox-producer.js'
import {
  BY_REQUEST_SQL,
  GET_SQL,
  outboxError,
  pendingJob,
  type StoredRecord,
} from './outbox-rows.js'

/** How often `jobs.wait` looks whether a pending job has reached the broker. */
const PENDING_POLL_MS = 50

function stillPending(id: string, change: string): AfterwardError {
  return new AfterwardError(
    ErrorCode.JOB_STATE_INVALID,
    `Job '${id}' is pending: it is still in the outbox and has not run. It can be ${change} once the relay has stored it in the broker (a worker runs the relay).`,
  )
}

export function outboxDriver(
  inner: Driver,
  prisma: OutboxClient,
  options: ResolvedOutboxOptions,
): Driver {
  if (typeof inner?.enqueue !== 'function' || typeof inner.consume !== 'function') {
    throw new AfterwardError(
      ErrorCode.CONFIG_INVALID,
      'prismaOutbox(...).driver(inner): pass the driver to stand in front of, such as bullmq({ connection }) or memory().',
    )
  }
  const read = async (sql: string, value: string): Promise<JobInfo[]> => {
    try {
      const rows = await prisma.$queryRawUnsafe<{ record: StoredRecord }[]>(sql, value)
      return rows.map((row) => pendingJob(row.record))
    } catch (err) {
      throw outboxError(err, 'Could not read the outbox')
    }
  }
  // The outbox is read first: a row still there is pending; once it is gone, the relay stored
  // the job in the broker before deleting it, so the broker has it.
  /** The job while its row waits in the outbox (state `pending`), else undefined. */
  const pending = async (id: string): Promise<JobInfo | undefined> => (await read(GET_SQL, id))[0]
  const get = async (id: string): Promise<JobInfo | undefined> =>
    (await pending(id)) ?? inner.get(id)

  // One relay per process, started with the first worker and closed with the last.
  let relay: OutboxRelay | undefined
  let workers = 0
  const startRelay = async (log: Logger): Promise<void> => {
    workers += 1
    if (!options.relayInWorkers || workers > 1) return
    const created = createRelay(prisma, inner, options, log)
    try {
      await created.start()
    } catch (err) {
      workers -= 1
      throw err
    }
    relay = created
  }
  const stopRelay = async (): Promise<void> => {
    workers = Math.max(0, workers - 1)
    if (workers > 0 || relay === undefined) return
    const current = relay
    relay = undefined
    await current.close()
  }

  return {
    name: inner.name,
    durable: inner.durable,
    scheduler: inner.scheduler,
    limiter: inner.limiter,
    outbox: { producerIn: transactionProducer },
    enqueue: (records, signal) => inner.enqueue(records, signal),
    get,
    async byRequest(requestId) {
      const pending = await read(BY_REQUEST_SQL, requestId)
      const stored = await inner.byRequest(requestId)
      const seen = new Set(stored.map((job) => job.id))
      const jobs = [...stored, ...pending.filter((job) => !seen.has(job.id))]
      return jobs.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())
    },
    async waitFor(id, timeoutMs) {
      const deadline = Date.now() + timeoutMs
      while (await pending(id)) {
        if (Date.now() >= deadline) {
          throw new AfterwardError(
            ErrorCode.WAIT_TIMEOUT,
            `Job '${id}' was still in the outbox after ${timeoutMs} ms: is a relay running (a worker, or prismaOutbox(...).relay(driver).start())?`,
          )
        }
        await new Promise((resolve) => setTimeout(resolve, PENDING_POLL_MS))
      }
      return inner.waitFor(id, Math.max(1, deadline - Date.now()))
    },
    async detail(id) {
      const waiting = await pending(id)
      return waiting ? { ...waiting, errors: [] } : inner.detail(id)
    },
    // A job still in the outbox has not run: nothing to retry, and the relay owns its row.
    async retry(id) {
      if (await pending(id)) throw stillPending(id, 'retried')
      return inner.retry(id)
    },
    async remove(id) {
      if (await pending(id)) throw stillPending(id, 'removed')
      return inner.remove(id)
    },
    list: (query) => inner.list(query),
    counts: (query) => inner.counts(query),
    consume(consumeOptions) {
      const consumer = inner.consume(consumeOptions)
      let started = false
      const wrapped: Consumer = {
        async start() {
          await consumer.start()
          try {
            await startRelay(consumeOptions.log)
          } catch (err) {
            // A worker whose relay cannot start does not take jobs either: its start fails.
            await consumer.close(true)
            throw err
          }
          started = true
        },
        async close(force) {
          if (started) {
            started = false
            await stopRelay()
          }
          await consumer.close(force)
        },
      }
      return wrapped
    },
    close: () => inner.close(),
  }
}
