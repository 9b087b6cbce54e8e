// The seam for tracers: hooks that run inside a job's defer, enqueue and attempt, where a
// lifecycle event (a notification after the fact) cannot reach. Listed instrumentations are
// composed once, in createAfterward; with none, the runtime holds `undefined` and the hot paths
// pay one property read.
import type { Logger } from 'pino'
import type { DeliveredJob, EnqueueResult, JobRecord } from './driver.js'
import type { AttemptEnd } from './driver.js'

/** Trace context carried by a job, as a propagator writes it (`traceparent`, `tracestate`, ...). */
export type TraceCarrier = Record<string, string>

/**
 * Hooks that wrap what Afterward does with a job, for tracing. Every hook is optional and runs
 * in the caller's async context, so a tracer sees the request's active span at `defer` and
 * `enqueue`, and whatever `attempt` makes active is active in the task. A hook that throws is
 * logged and skipped; a wrapper cannot change the outcome it wraps (the result of `send()` or
 * `run()` is what Afterward uses).
 *
 * @example
 * createAfterward({
 *   tasks,
 *   driver,
 *   instrumentation: [{
 *     attempt: (job, run) => tracer.startActiveSpan(`process ${job.options.queue}`, (span) =>
 *       run().finally(() => span.end())),
 *   }],
 * })
 */
export interface Instrumentation {
  /**
   * Called as `defer` accepts a job (the record is built, not buffered yet). Returns the trace
   * context to store on the job, e.g. the active span's, so that a job deferred during a
   * request carries its trace even when no `traceparent` header came in; `undefined` keeps
   * `job.trace` (the scope's: the request's header, or the running job's for `ctx.defer`).
   */
  defer?(job: JobRecord): TraceCarrier | undefined
  /**
   * Wraps each enqueue of a batch of records (one request's jobs, one `afterward.enqueue`, one
   * attempt's `ctx.defer` jobs). Call `send()` once and return its promise (or one that settles
   * after it); it rejects with `AfterwardEnqueueError`. Before calling it, a hook may set each
   * record's `trace` to the context that consumers should continue from (a publish span's).
   */
  enqueue?(
    records: readonly JobRecord[],
    send: () => Promise<EnqueueResult[]>,
  ): Promise<EnqueueResult[]>
  /**
   * Wraps each attempt, from the `started` event to the end the driver carries out. Call
   * `run()` once and return its promise (or one that settles after it); `run()` never rejects,
   * and resolves with how the attempt ended. Run it inside a span's context, and the task's own
   * spans (database, HTTP calls) nest under that span.
   */
  attempt?(job: DeliveredJob, run: () => Promise<AttemptEnd>): Promise<AttemptEnd>
}

/** The instance's instrumentations composed into one (first listed outermost). */
export interface ComposedInstrumentation {
  defer: ((job: JobRecord) => void) | undefined
  enqueue: Instrumentation['enqueue']
  attempt: Instrumentation['attempt']
}

/**
 * Composes `list` once; `undefined` when there is nothing to call, so that the runtime adds no
 * closure and no promise per job then.
 */
export function composeInstrumentation(
  list: readonly Instrumentation[] | undefined,
  log: Logger,
): ComposedInstrumentation | undefined {
  if (list === undefined || list.length === 0) return undefined
  const defers = list.flatMap((i, n) => (i.defer ? [{ hook: i.defer.bind(i), n }] : []))
  let enqueue: Instrumentation['enqueue']
  let attempt: Instrumentation['attempt']
  // Innermost first, so that the first listed ends up outermost.
  for (let n = list.length - 1; n >= 0; n--) {
    const i = list[n]!
    if (i.enqueue) enqueue = nest(guarded(i.enqueue.bind(i), n, 'enqueue', log), enqueue)
    if (i.attempt) attempt = nest(guarded(i.attempt.bind(i), n, 'attempt', log), attempt)
  }
  const defer =
    defers.length === 0
      ? undefined
      : (job: JobRecord): void => {
          for (const { hook, n } of defers) {
            try {
              const carrier = hook(job)
              if (carrier !== undefined) job.trace = carrier
            } catch (err) {
              hookFailed(log, err, n, 'defer')
            }
          }
        }
  if (!defer && !enqueue && !attempt) return undefined
  return { defer, enqueue, attempt }
}

type Wrapper<A, R> = (arg: A, next: () => Promise<R>) => Promise<R>

function nest<A, R>(outer: Wrapper<A, R>, inner: Wrapper<A, R> | undefined): Wrapper<A, R> {
  return inner === undefined ? outer : (arg, next) => outer(arg, () => inner(arg, next))
}

/**
 * A wrapper that cannot break what it wraps: `next` runs exactly once, even when the hook
 * throws or forgets it, and the caller gets `next`'s own result.
 */
function guarded<A, R>(hook: Wrapper<A, R>, n: number, name: string, log: Logger): Wrapper<A, R> {
  return (arg, next) => {
    let result: Promise<R> | undefined
    const once = (): Promise<R> => (result ??= next())
    let wrapped: Promise<R>
    try {
      wrapped = Promise.resolve(hook(arg, once))
    } catch (err) {
      hookFailed(log, err, n, name)
      return once()
    }
    const settled = (): Promise<R> => {
      if (result === undefined) {
        hookFailed(log, new Error(`the ${name} hook did not call its callback`), n, name)
      }
      return once()
    }
    return wrapped.then(settled, (err: unknown) => {
      // The hook passing `next`'s own rejection on is normal; anything else is its failure.
      if (result === undefined) hookFailed(log, err, n, name)
      return once()
    })
  }
}

function hookFailed(log: Logger, err: unknown, n: number, hook: string): void {
  log.error({ err, instrumentation: n, hook }, 'instrumentation hook failed; ignored')
}
