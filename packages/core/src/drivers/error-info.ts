import type { AttemptError, JobInfo, JobState } from '../driver.js'
import { AfterwardError, ErrorCode } from '../errors.js'

/** The stored form of an attempt's error: its message and, for Afterward errors, its code. */
export function errorInfo(error: Error): NonNullable<JobInfo['lastError']> {
  return { message: error.message, code: error instanceof AfterwardError ? error.code : undefined }
}

/** The error of one failed attempt, as `jobs.detail` lists it. */
export function attemptError(error: Error): AttemptError {
  return { ...errorInfo(error), stack: error.stack }
}

// The errors of the operator's calls (Operator in driver-inspector.ts), the same on every driver.

export function jobNotFound(id: string): AfterwardError {
  return new AfterwardError(
    ErrorCode.JOB_NOT_FOUND,
    `No job with id '${id}' (never stored, removed, or past its retention period). Check the id with afterward.jobs.get or \`afterward job <id>\`.`,
  )
}

export function notRetryable(id: string, state: JobState): AfterwardError {
  return new AfterwardError(
    ErrorCode.JOB_STATE_INVALID,
    `Job '${id}' is ${state}; only a failed job can be retried.${state === 'completed' ? ' Enqueue a new job to run it again.' : ' It will run (again) on its own.'}`,
  )
}

export function notRemovable(id: string): AfterwardError {
  return new AfterwardError(
    ErrorCode.JOB_STATE_INVALID,
    `Job '${id}' is active: a worker is running it. Wait until it finishes (afterward.jobs.wait), then remove it.`,
  )
}
