import type { JobInfo } from '../driver.js'
import { AfterwardError } from '../errors.js'

/** The stored form of an attempt's error: its message and, for Afterward errors, its code. */
export function errorInfo(error: Error): NonNullable<JobInfo['lastError']> {
  return { message: error.message, code: error instanceof AfterwardError ? error.code : undefined }
}
