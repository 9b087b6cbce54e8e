import type { Job, Worker as BullWorker, WorkerOptions } from 'bullmq'
import type { AttemptEnd, ConsumeOptions, Consumer } from '../../driver.js'
import type { StoredData } from './job-data.js'
import type { BullBinding } from './store.js'
import { AfterwardError, ErrorCode } from '../../errors.js'
import { BUILTIN_DEFAULTS, backoffDelay } from '../../options.js'
import {
  type BullJobLike,
  failureMessage,
  failureStack,
  isStoredData,
  toDelivered,
} from './job-data.js'

export interface BullmqConsumerOptions extends ConsumeOptions {
  prefix: string | undefined
  /** Finished jobs kept for inspection, applied as each job completes or fails for good. */
  keepCompleted: { age: number; count: number }
  keepFailed: { age: number; count: number }
  /** A binding of the workers' own (Redis: one shared by them; PostgreSQL: one pool each). */
  connect(): Promise<BullBinding>
  /** Refuse to start on a Redis that may evict keys (else: log an error). */
  requireNoEviction: boolean
  onStart(): Promise<void>
  onClosed(): void
}

/** One BullMQ `Worker` per queue, all feeding the same `handle`. */
export class BullmqConsumer implements Consumer {
  readonly #options: BullmqConsumerOptions
  #workers: BullWorker[] = []
  #binding: BullBinding | undefined
  #closing: Promise<void> | undefined

  constructor(options: BullmqConsumerOptions) {
    this.#options = options
  }

  async start(): Promise<void> {
    const { Worker, Job, UnrecoverableError, WaitingError, DelayedError } = await import('bullmq')
    const { queues, concurrency, prefix, handle, log, keepCompleted, keepFailed, stall } =
      this.#options
    const { stalled, stallLimitReached } = this.#options
    const binding = (this.#binding = await this.#options.connect())
    if (binding.backend === undefined) await this.#checkEviction(binding.connection)
    // Loosely typed at the one place where the binding meets BullMQ's overloads.
    const BackendWorker = Worker as unknown as new (
      ...args: [
        string,
        typeof processor,
        Omit<WorkerOptions, 'connection'> & { connection: unknown },
        unknown,
      ]
    ) => BullWorker<StoredData>
    // Not async: a job that succeeds costs one promise here, not two. BullMQ learns how the
    // attempt ended from how this settles: a retry is a plain error (its delay read back by
    // the backoff strategy), a failure for good an UnrecoverableError.
    const processor = (job: Job<StoredData>, token?: string): Promise<void> =>
      // Data that is not Afterward's fails for good before anything runs: retrying cannot fix it.
      (isStoredData(job.data)
        ? handle(toDelivered(job as unknown as BullJobLike))
        : Promise.resolve<AttemptEnd>({ type: 'failed', error: notAnAfterwardJob(job) })
      ).then((end) => {
        switch (end.type) {
          case 'completed':
            return
          case 'requeue':
            // Shutdown: hand the job back without spending an attempt.
            return job.moveToWait(token).then(() => {
              throw new WaitingError()
            })
          case 'wait':
            // Held back by a limit, or asked to wait: delayed again without spending an attempt.
            // BullMQ counts every start, so `held` tells the next run from one that was cut off.
            return job
              .updateData({ ...job.data, held: (job.data.held ?? 0) + 1 })
              .then(() => job.moveToDelayed(Date.now() + end.delay, token))
              .then(() => {
                throw new DelayedError()
              })
          case 'retry':
            throw new RetryLater(end.error, end.delay)
          case 'failed': {
            const failure = new UnrecoverableError(failureMessage(end.error))
            // BullMQ keeps this stack for `jobs.detail`: the task's, not this line's.
            failure.stack = failureStack(end.error)
            throw failure
          }
        }
      })
    let lastLogged = 0
    for (const name of queues) {
      const worker = new BackendWorker(
        name,
        processor,
        {
          connection: binding.connection,
          ...(prefix === undefined ? {} : { prefix }),
          concurrency,
          lockDuration: stall.lockDuration,
          stalledInterval: stall.stalledInterval,
          maxStalledCount: stall.maxStalledCount,
          removeOnComplete: keepCompleted,
          removeOnFail: keepFailed,
          autorun: false,
          settings: {
            // The worker decided the delay (retry.ts); an error from elsewhere (a stalled job
            // BullMQ retries itself) falls back to the job's own backoff.
            backoffStrategy: (attemptsMade, _type, err, job) => {
              if (err instanceof RetryLater) return err.delay
              const backoff = (job?.data as StoredData | undefined)?.options?.backoff
              return backoffDelay(backoff ?? BUILTIN_DEFAULTS.backoff, attemptsMade)
            },
          },
        },
        binding.backend,
      )
      worker.on('error', (err) => {
        // While Redis is away this fires on every reconnect attempt: log at most once a second.
        if (Date.now() - lastLogged > 1_000) {
          lastLogged = Date.now()
          log.error({ err, queue: name }, 'worker connection error (BullMQ retries on its own)')
        }
      })
      // BullMQ says only the id of a job it found stalled and put back: read the job for the
      // worker's log line and `stalled` event. Rare (a worker died), so one read is cheap.
      worker.on('stalled', (jobId) => {
        Job.fromId(worker as never, jobId)
          .then((job?: BullJobLike & { deferredFailure?: string }) => {
            if (job) stalled(toDelivered(job), job.deferredFailure === undefined)
          })
          .catch((err: unknown) => {
            log.warn({ err, jobId, queue: name }, 'could not read a stalled job')
          })
      })
      // A job that stalled too often is failed by BullMQ as a worker takes it, without the
      // processor: the worker still hears of it as a failure.
      worker.on('failed', (job, err) => {
        const marked = job as (BullJobLike & { deferredFailure?: string }) | undefined
        if (marked?.deferredFailure !== undefined && err.message === marked.deferredFailure) {
          // BullMQ has counted the failure: the attempt it was on is attemptsMade now.
          stallLimitReached({ ...toDelivered(marked), attempt: Math.max(1, marked.attemptsMade) })
        }
      })
      this.#workers.push(worker)
    }
    await this.#options.onStart()
    for (const worker of this.#workers) {
      worker.run().catch((err: unknown) => log.error({ err }, 'BullMQ worker stopped'))
    }
    await Promise.all(this.#workers.map((w) => w.waitUntilReady()))
  }

  /** Jobs live in Redis's memory: a policy that evicts keys when it is full may drop them. */
  async #checkEviction(connection: unknown): Promise<void> {
    const client = connection as { info?(section: string): Promise<string> }
    if (typeof client.info !== 'function') return // a cluster: each node is configured apart
    const info = await client.info('memory')
    const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1]
    if (policy === undefined || policy === 'noeviction') return
    const message = `Redis maxmemory-policy is '${policy}': when Redis is full it may evict jobs. Set 'maxmemory-policy noeviction' (and persistence) on the Redis that holds your jobs.`
    if (this.#options.requireNoEviction) {
      await this.#binding?.release()
      throw new AfterwardError(ErrorCode.CONFIG_INVALID, message)
    }
    this.#options.log.error({ maxmemoryPolicy: policy }, message)
  }

  close(force = false): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled(this.#workers.map((w) => w.close(force)))
      await this.#binding?.release()
      this.#options.onClosed()
    })()
    return this.#closing
  }
}

/** A failed attempt to run again after `delay` ms; BullMQ stores its message as the failure. */
class RetryLater extends Error {
  constructor(
    error: Error,
    readonly delay: number,
  ) {
    super(failureMessage(error))
    this.stack = failureStack(error)
  }
}

/** The error of a job whose data is not Afterward's envelope (see `isStoredData`). */
function notAnAfterwardJob(job: Job): AfterwardError {
  return new AfterwardError(
    ErrorCode.INPUT_INVALID,
    `Job '${job.id ?? '?'}' (task '${job.name}') was not written by Afterward: its data has no { input, options } envelope. Enqueue jobs with defer() or afterward.enqueue(), not with BullMQ's Queue.add().`,
    { retryable: false },
  )
}
