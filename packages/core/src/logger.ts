import { pino, type Logger } from 'pino'

/** The logger used when none is given: pino at `AFTERWARD_LOG_LEVEL` (default `info`). */
export function defaultLogger(): Logger {
  return pino({ name: 'afterward', level: process.env['AFTERWARD_LOG_LEVEL'] ?? 'info' })
}

/** The fields every job log line carries. */
export function jobBindings(job: {
  id: string
  task: string
  requestId: string | undefined
  attempt?: number
}): Record<string, unknown> {
  return { jobId: job.id, task: job.task, attempt: job.attempt, requestId: job.requestId }
}

/**
 * A job's child logger, made on first call: `log.child()` costs more than a no-op job, and a
 * worker at `info` writes no per-job line for a job that succeeds.
 */
export function lazyJobLogger(root: Logger, job: Parameters<typeof jobBindings>[0]): () => Logger {
  let child: Logger | undefined
  return () => (child ??= root.child(jobBindings(job)))
}
