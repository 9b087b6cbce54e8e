import type { JobInfo } from '../../driver.js'
import { AfterwardError, ErrorCode } from '../../errors.js'

/** The slice of BullMQ's `QueueEvents` used here. */
export interface FinishEvents {
  on(event: 'completed' | 'failed', listener: (args: { jobId: string }) => void): unknown
  off(event: 'completed' | 'failed', listener: (args: { jobId: string }) => void): unknown
}

/**
 * Resolves with the job once `look()` finds it completed or failed, looking again on each
 * event about it; rejects with `AFTERWARD_WAIT_TIMEOUT` after `timeoutMs`.
 */
export function waitFinished(
  id: string,
  timeoutMs: number,
  events: FinishEvents,
  look: () => Promise<JobInfo | undefined>,
): Promise<JobInfo> {
  return new Promise<JobInfo>((resolve, reject) => {
    let settled = false
    const check = async (): Promise<void> => {
      const now = await look()
      if (!settled && now && (now.state === 'completed' || now.state === 'failed')) {
        settled = true
        cleanup()
        resolve(now)
      }
    }
    const onEvent = ({ jobId }: { jobId: string }): void => {
      if (jobId === id) check().catch(fail)
    }
    const fail = (err: unknown): void => {
      if (settled) return
      settled = true
      cleanup()
      reject(err instanceof Error ? err : new Error(String(err)))
    }
    const timer = setTimeout(() => {
      fail(
        new AfterwardError(
          ErrorCode.WAIT_TIMEOUT,
          `Job '${id}' did not finish within ${timeoutMs} ms.`,
        ),
      )
    }, timeoutMs)
    // The events stream is trimmed under heavy load; a slow look now and then makes sure
    // a finished job is never waited on forever.
    const poll = setInterval(() => void check().catch(fail), 1_000)
    const cleanup = (): void => {
      clearTimeout(timer)
      clearInterval(poll)
      events.off('completed', onEvent)
      events.off('failed', onEvent)
    }
    events.on('completed', onEvent)
    events.on('failed', onEvent)
    // The job may have finished between the first look and the subscription.
    check().catch(fail)
  })
}
