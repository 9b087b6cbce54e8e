import type { Job, Worker as BullWorker, WorkerOptions } from 'bullmq'
import type { ConsumeOptions, Consumer } from '../../driver.js'
import type { StoredData } from './job-data.js'
import type { BullBinding } from './store.js'
import { RequeueJob } from '../../driver.js'
import { AfterwardError, toError } from '../../errors.js'
import { BUILTIN_DEFAULTS, backoffDelay } from '../../options.js'
import { type BullJobLike, failureMessage, toDelivered } from './job-data.js'

export interface BullmqConsumerOptions extends ConsumeOptions {
  prefix: string | undefined
  /** Finished jobs kept for inspection, applied as each job completes or fails for good. */
  keepCompleted: { age: number; count: number }
  keepFailed: { age: number; count: number }
  /** A binding of the workers' own (Redis: one shared by them; PostgreSQL: one pool each). */
  connect(): Promise<BullBinding>
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
    const { Worker, UnrecoverableError, WaitingError } = await import('bullmq')
    const { queues, concurrency, prefix, handle, log, keepCompleted, keepFailed } = this.#options
    const binding = (this.#binding = await this.#options.connect())
    // Loosely typed at the one place where the binding meets BullMQ's overloads.
    const BackendWorker = Worker as unknown as new (
      ...args: [
        string,
        typeof processor,
        Omit<WorkerOptions, 'connection'> & { connection: unknown },
        unknown,
      ]
    ) => BullWorker<StoredData>
    // Not async: a job that succeeds costs one promise here, not two.
    const processor = (job: Job<StoredData>, token?: string): Promise<void> => {
      try {
        return handle(toDelivered(job as unknown as BullJobLike)).catch((thrown: unknown) =>
          failed(job, token, thrown),
        )
      } catch (thrown) {
        return failed(job, token, thrown)
      }
    }
    const failed = async (
      job: Job<StoredData>,
      token: string | undefined,
      thrown: unknown,
    ): Promise<never> => {
      if (thrown instanceof RequeueJob) {
        // Shutdown: hand the job back without spending an attempt.
        await job.moveToWait(token)
        throw new WaitingError()
      }
      const error = toError(thrown)
      const message = failureMessage(error)
      if (error instanceof AfterwardError && !error.retryable) throw new UnrecoverableError(message)
      const stored = new Error(message)
      stored.stack = error.stack
      throw stored
    }
    let lastLogged = 0
    for (const name of queues) {
      const worker = new BackendWorker(
        name,
        processor,
        {
          connection: binding.connection,
          ...(prefix === undefined ? {} : { prefix }),
          concurrency,
          removeOnComplete: keepCompleted,
          removeOnFail: keepFailed,
          autorun: false,
          settings: {
            backoffStrategy: (attemptsMade, _type, _err, job) => {
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
      this.#workers.push(worker)
    }
    await this.#options.onStart()
    for (const worker of this.#workers) {
      worker.run().catch((err: unknown) => log.error({ err }, 'BullMQ worker stopped'))
    }
    await Promise.all(this.#workers.map((w) => w.waitUntilReady()))
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
