// Task limits for memory(): one process, so plain maps. A concurrency key holds the ids of the
// jobs running under it; a rate key the start times of its last `max` starts (a sliding log).
// Keys without running jobs or recent starts are dropped, so memory follows the active keys.
import type { LimitDecision, LimitRequest, Limiter } from '../driver.js'

export function memoryLimiter(now: () => number = Date.now): Limiter {
  const running = new Map<string, Set<string>>()
  const starts = new Map<string, number[]>()

  return {
    acquire({ jobId, concurrency, rate }: LimitRequest): Promise<LimitDecision> {
      const at = now()
      const slots = concurrency && running.get(concurrency.key)
      if (concurrency && slots && slots.size >= concurrency.max && !slots.has(jobId)) {
        return Promise.resolve({ granted: false, retryIn: undefined })
      }
      if (rate) {
        const log = (starts.get(rate.key) ?? []).filter((t) => t > at - rate.per)
        if (log.length >= rate.max) {
          starts.set(rate.key, log)
          return Promise.resolve({ granted: false, retryIn: log[0]! + rate.per - at })
        }
        log.push(at)
        starts.set(rate.key, log)
        setTimeout(() => {
          const current = starts.get(rate.key)
          if (current?.every((t) => t <= now() - rate.per)) starts.delete(rate.key)
        }, rate.per).unref()
      }
      if (concurrency) {
        const held = slots ?? new Set<string>()
        running.set(concurrency.key, held.add(jobId))
      }
      return Promise.resolve({
        granted: true,
        startedAt: at,
        renew: () => Promise.resolve(),
        release() {
          if (concurrency) {
            const held = running.get(concurrency.key)
            held?.delete(jobId)
            if (held?.size === 0) running.delete(concurrency.key)
          }
          return Promise.resolve()
        },
      })
    },
  }
}
