// How lifecycle events become counts: each listener adds to the series of its task and queue.
import { AfterwardError, ErrorCode, type Afterward, type JobEvent } from '@afterward/core'
import type { Outcome, SeriesStore, TaskSeries } from './series.js'

/** Subscribes to `afterward`'s events; returns the function that unsubscribes from them all. */
export function countEvents(afterward: Afterward, store: SeriesStore): () => void {
  const ended = (e: JobEvent & { durationMs: number }, outcome: Outcome): TaskSeries => {
    store.attemptEnded(e.queue)
    const series = store.get(e.task, e.queue)
    series.runDuration[outcome].observe(e.durationMs / 1_000)
    return series
  }
  const unsubscribe = [
    afterward.on('enqueued', (e) => {
      const series = store.get(e.task, e.queue)
      series.counts[e.deduplicatedInto === undefined ? 'enqueued' : 'deduplicated']++
      series.enqueueDuration.observe(e.durationMs / 1_000)
    }),
    afterward.on('enqueue-failed', (e) => void store.get(e.task, e.queue).counts.enqueueFailures++),
    afterward.on('discarded', (e) => void store.get(e.task, e.queue).counts.discarded++),
    afterward.on('started', (e) => {
      store.attemptStarted(e.queue)
      // Later attempts waited for their backoff, not for a worker: only the first is a queue wait.
      // Clocks of two machines may disagree by a little: never a negative wait.
      if (e.attempt === 1) {
        store.get(e.task, e.queue).queueWait.observe(Math.max(0, e.waitMs) / 1_000)
      }
    }),
    afterward.on('completed', (e) => void ended(e, 'completed').counts.completed++),
    afterward.on('retrying', (e) => void ended(e, 'retried').counts.retried++),
    afterward.on('failed', (e) => {
      // Failed by the broker for stalling too often: no attempt ran here to end or time.
      if (e.error instanceof AfterwardError && e.error.code === ErrorCode.STALLED) {
        store.get(e.task, e.queue).counts.failed++
      } else ended(e, 'failed').counts.failed++
    }),
    afterward.on('handed-back', (e) => void ended(e, 'handed_back').counts.handedBack++),
    // Found by this process's worker; the attempt cut off ended in the process that died.
    afterward.on('stalled', (e) => void store.get(e.task, e.queue).counts.stalled++),
  ]

  return () => {
    for (const off of unsubscribe) off()
  }
}
