import { pino, type Logger } from 'pino'

/** The logger used when none is given: pino at `AFTERWARD_LOG_LEVEL` (default `info`). */
export function defaultLogger(): Logger {
  return pino({ name: 'afterward', level: process.env['AFTERWARD_LOG_LEVEL'] ?? 'info' })
}

/** The fields every job log line carries; `traceId` when the job carries a W3C trace context. */
export function jobBindings(job: {
  id: string
  task: string
  requestId: string | undefined
  attempt?: number
  trace?: Record<string, string> | undefined
}): Record<string, unknown> {
  return {
    jobId: job.id,
    task: job.task,
    attempt: job.attempt,
    requestId: job.requestId,
    traceId: traceIdOf(job.trace),
  }
}

/** The trace id of a `traceparent` (`00-<trace id>-<span id>-<flags>`), if it has one. */
export function traceIdOf(trace: Record<string, string> | undefined): string | undefined {
  const parent = trace?.['traceparent']
  return parent !== undefined && parent.length >= 35 && parent[2] === '-'
    ? parent.slice(3, 35)
    : undefined
}

/**
 * A job's child logger, made on first call: `log.child()` costs more than a no-op job, and a
 * worker at `info` writes no per-job line for a job that succeeds.
 */
export function lazyJobLogger(root: Logger, job: Parameters<typeof jobBindings>[0]): () => Logger {
  let child: Logger | undefined
  return () => (child ??= root.child(jobBindings(job)))
}
