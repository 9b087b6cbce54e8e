// The load generator: POSTs at a steady rate and records every answer, above all each
// acknowledged (2xx) request's job id. Bounded in requests, in flight and in time.

/** One request and what came of it. */
export interface Sent {
  n: number
  start: number
  end: number
  /** HTTP status, or 0 for no answer (timeout, connection refused or reset). */
  status: number
  /** The job id of an acknowledged request. */
  jobId?: string
}

export interface LoadOptions {
  url: string
  /** Requests per second. */
  rate: number
  /** Hard limit on the load's length, whatever `stop()` does. */
  maxMs: number
  /** Requests in flight at most; past it, the load waits (and falls behind its rate). */
  maxInFlight?: number
  /** Per-request timeout. @defaultValue 10_000 */
  timeoutMs?: number
  /**
   * Called with each request once answered. With it, requests are not kept (`stop()` resolves
   * with none): a long soak holds no record per request. @defaultValue none: all are kept
   */
  onAnswer?: (sent: Sent) => void
}

export interface Load {
  /** Stops sending; resolves with every request once the last answer (or timeout) is in. */
  stop(): Promise<Sent[]>
}

/** Starts sending `POST /orders` at `options.rate` per second until `stop()` or `maxMs`. */
export function startLoad(options: LoadOptions): Load {
  const sent: Sent[] = []
  const inFlight = new Set<Promise<void>>()
  const maxInFlight = options.maxInFlight ?? 200
  const timeoutMs = options.timeoutMs ?? 10_000
  const began = Date.now()
  let stopped = false

  const send = async (n: number): Promise<void> => {
    const entry: Sent = { n, start: Date.now(), end: 0, status: 0 }
    if (options.onAnswer === undefined) sent.push(entry)
    try {
      const response = await fetch(`${options.url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ n }),
        signal: AbortSignal.timeout(timeoutMs),
      })
      entry.status = response.status
      const body = (await response.json()) as { jobId?: string }
      if (response.ok) entry.jobId = body.jobId
    } catch {
      // no answer: status 0
    } finally {
      entry.end = Date.now()
      options.onAnswer?.(entry)
    }
  }

  const loop = (async () => {
    for (let n = 0; !stopped && Date.now() - began < options.maxMs; n++) {
      const due = began + (n * 1_000) / options.rate
      const wait = due - Date.now()
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
      while (inFlight.size >= maxInFlight) await Promise.race(inFlight)
      if (stopped) break
      const request = send(n).finally(() => inFlight.delete(request))
      inFlight.add(request)
    }
  })()

  return {
    async stop() {
      stopped = true
      await loop
      await Promise.all(inFlight)
      return sent
    },
  }
}
