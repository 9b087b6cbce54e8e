// Span attributes: the OpenTelemetry messaging semantic conventions (operation types `send` and
// `process`) plus Afterward's own under `afterward.*`.
import type { Attributes } from '@opentelemetry/api'
import type { AttemptEnd, DeliveredJob, EnqueueResult, JobRecord } from '@afterward/core'

/**
 * Attribute names set on Afterward's spans and on the `afterward.defer` event.
 *
 * @example
 * const failed = spans.filter((s) => s.attributes[Attr.OUTCOME] === 'failed')
 */
export const Attr = {
  SYSTEM: 'messaging.system',
  OPERATION_TYPE: 'messaging.operation.type',
  OPERATION_NAME: 'messaging.operation.name',
  DESTINATION: 'messaging.destination.name',
  MESSAGE_ID: 'messaging.message.id',
  BATCH_COUNT: 'messaging.batch.message_count',
  ERROR_TYPE: 'error.type',
  TASK: 'afterward.task',
  ATTEMPT: 'afterward.attempt',
  MAX_ATTEMPTS: 'afterward.max_attempts',
  REQUEST_ID: 'afterward.request_id',
  OUTCOME: 'afterward.outcome',
  RETRY_DELAY: 'afterward.retry.delay_ms',
  JOB_IDS: 'afterward.job_ids',
  DEDUPLICATED: 'afterward.deduplicated',
  REDELIVERED: 'afterward.redelivered',
} as const

/** The queue all records go to, or `undefined` when they go to several. */
export function commonQueue(records: readonly JobRecord[]): string | undefined {
  const queue = records[0]?.options.queue
  return records.every((r) => r.options.queue === queue) ? queue : undefined
}

/** Attributes of the send span of one enqueue. */
export function sendAttributes(
  system: string,
  records: readonly JobRecord[],
  queue: string | undefined,
): Attributes {
  const first = records[0]!
  const attributes: Attributes = {
    [Attr.SYSTEM]: system,
    [Attr.OPERATION_TYPE]: 'send',
    [Attr.OPERATION_NAME]: 'send',
  }
  if (queue !== undefined) attributes[Attr.DESTINATION] = queue
  if (records.length === 1) {
    attributes[Attr.MESSAGE_ID] = first.id
    attributes[Attr.TASK] = first.task
  } else {
    attributes[Attr.BATCH_COUNT] = records.length
    attributes[Attr.JOB_IDS] = records.map((r) => r.id)
    const tasks = new Set(records.map((r) => r.task))
    if (tasks.size === 1) attributes[Attr.TASK] = first.task
  }
  if (first.requestId !== undefined) attributes[Attr.REQUEST_ID] = first.requestId
  return attributes
}

/** How many records were not stored because a job with the same key was live. */
export function deduplicatedCount(results: readonly EnqueueResult[]): number {
  let count = 0
  for (const result of results) if (result.deduplicated) count++
  return count
}

/** Attributes of the process span of one attempt. */
export function processAttributes(system: string, job: DeliveredJob): Attributes {
  const attributes: Attributes = {
    [Attr.SYSTEM]: system,
    [Attr.OPERATION_TYPE]: 'process',
    [Attr.OPERATION_NAME]: 'process',
    [Attr.DESTINATION]: job.options.queue,
    [Attr.MESSAGE_ID]: job.id,
    [Attr.TASK]: job.task,
    [Attr.ATTEMPT]: job.attempt,
    [Attr.MAX_ATTEMPTS]: job.options.attempts,
  }
  if (job.requestId !== undefined) attributes[Attr.REQUEST_ID] = job.requestId
  // A run that recovers a job whose earlier run was cut off (a dead worker, a shutdown).
  if (job.redelivered) attributes[Attr.REDELIVERED] = true
  return attributes
}

/** `afterward.outcome`: the name of the lifecycle event the attempt ended with. */
export function outcomeOf(end: AttemptEnd): string {
  switch (end.type) {
    case 'completed':
      return 'completed'
    case 'retry':
      return 'retrying'
    case 'failed':
      return 'failed'
    case 'requeue':
    case 'wait':
      return 'handed-back'
  }
}

/** `error.type`: an `AfterwardError`'s code, else the error's name. */
export function errorType(error: Error): string {
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' ? code : error.name
}
