// The lifecycle events of jobs: one typed bus that the defer scope, the runtime and the worker
// report to, and that logs, metrics, traces and operator tools subscribe to.
import type { Logger } from 'pino'

/** What every lifecycle event says about its job. */
export interface JobEvent {
  jobId: string
  task: string
  queue: string
  /** The attempt concerned; 0 before the first one (deferred, discarded, enqueued). */
  attempt: number
  requestId: string | undefined
  /** W3C trace context carried from the request (`traceparent`, `tracestate`). */
  trace: Record<string, string> | undefined
}

/** Every event by name, with what its listeners receive. */
export interface AfterwardEvents {
  /** A job was accepted by `defer` (buffered in its scope; not stored yet). */
  deferred: JobEvent
  /** A buffered job was dropped: its request failed (status >= 400 or an error), or the task that deferred it did not succeed. */
  discarded: JobEvent
  /** The broker stored the job. `durationMs` is the store's round trip for the job's batch. */
  enqueued: JobEvent & {
    durationMs: number
    /** Set when nothing was stored because a job with the same `key` was live: that job's id. */
    deduplicatedInto: string | undefined
  }
  /** The broker did not store the job (down, refused, or slower than `enqueueTimeout`). */
  'enqueue-failed': JobEvent & { durationMs: number; error: Error }
  /**
   * An attempt started. `waitMs` is the time since the job was deferred (a scheduled run: since
   * its tick). `redelivered` is true when an earlier run of this attempt was cut off (its worker
   * died, or shut down and handed the job back): the job is being recovered.
   */
  started: JobEvent & { waitMs: number; redelivered: boolean }
  /** An attempt failed and the job will run again after `delayMs`. */
  retrying: JobEvent & { durationMs: number; error: Error; delayMs: number }
  /** An attempt succeeded: the job is done. */
  completed: JobEvent & { durationMs: number }
  /**
   * The last attempt failed, or the error said not to retry, or the job stalled more than
   * `maxStalledCount` times (`error.code` `AFTERWARD_STALLED`, `durationMs` 0: no attempt ran):
   * the job is failed for good.
   */
  failed: JobEvent & { durationMs: number; error: Error }
  /** The worker shut down during the attempt and handed the job back to its queue; the attempt does not count. */
  'handed-back': JobEvent & { durationMs: number }
  /**
   * A worker found the job stalled: the worker running it stopped renewing its lock (crashed,
   * was killed, blocked its event loop, or lost the broker), so the job went back to its queue.
   * `attempt` is the attempt that was cut off; it does not count. `willRun` is false when the
   * job had stalled more than `maxStalledCount` times: the broker fails it for good instead, and
   * `failed` (error code `AFTERWARD_STALLED`) follows when a worker takes it. Reported by the
   * worker that found it, in its process, after reading the job: the run that recovers it may
   * report `started` first. Only drivers that recover dead workers' jobs report it (`bullmq()`).
   */
  stalled: JobEvent & { willRun: boolean }
}

export type AfterwardEventName = keyof AfterwardEvents

/** Every event name, in the order a job meets them. */
export const AFTERWARD_EVENTS: readonly AfterwardEventName[] = Object.freeze([
  'deferred',
  'discarded',
  'enqueued',
  'enqueue-failed',
  'started',
  'retrying',
  'completed',
  'failed',
  'handed-back',
  'stalled',
])

/**
 * A subscriber of one event. Called synchronously where the event happens: keep it short, and
 * hand slow work off. Its return value is ignored, but a throw (or a returned promise that
 * rejects) is logged and never reaches the job.
 */
export type AfterwardListener<E extends AfterwardEventName> = (event: AfterwardEvents[E]) => unknown

type Listeners = { [E in AfterwardEventName]?: AfterwardListener<E>[] }

/**
 * The instance's event bus. Emitters ask `has(name)` before they build an event, so that an
 * event nobody listens to costs one property read.
 */
export class EventBus {
  readonly #listeners: Listeners = {}
  readonly #log: Logger

  constructor(log: Logger) {
    this.#log = log
  }

  /** Subscribes; returns the function that unsubscribes. */
  on<E extends AfterwardEventName>(name: E, listener: AfterwardListener<E>): () => void {
    if (typeof listener !== 'function') {
      throw new TypeError(`afterward.on('${String(name)}', listener): listener must be a function`)
    }
    // A new array on every change: an emit in progress keeps iterating the one it started with.
    const current = (this.#listeners[name] ?? []) as AfterwardListener<E>[]
    this.#set(name, [...current, listener])
    return () => {
      const now = (this.#listeners[name] ?? []) as AfterwardListener<E>[]
      this.#set(
        name,
        now.filter((l) => l !== listener),
      )
    }
  }

  has(name: AfterwardEventName): boolean {
    return this.#listeners[name] !== undefined
  }

  emit<E extends AfterwardEventName>(name: E, event: AfterwardEvents[E]): void {
    const listeners = this.#listeners[name] as AfterwardListener<E>[] | undefined
    if (!listeners) return
    for (const listener of listeners) {
      try {
        const result: unknown = listener(event)
        // An async listener's rejection would otherwise be unhandled (and end the process).
        if (typeof (result as Promise<unknown> | undefined)?.catch === 'function') {
          ;(result as Promise<unknown>).catch((err: unknown) => this.#failed(name, event, err))
        }
      } catch (err) {
        this.#failed(name, event, err)
      }
    }
  }

  #failed(name: AfterwardEventName, event: JobEvent, err: unknown): void {
    this.#log.error({ err, event: name, jobId: event.jobId }, 'event listener failed; ignored')
  }

  #set<E extends AfterwardEventName>(name: E, listeners: AfterwardListener<E>[]): void {
    // `undefined` when empty, so that `has` stays one property read.
    ;(this.#listeners as Record<string, unknown>)[name] =
      listeners.length > 0 ? listeners : undefined
  }
}
