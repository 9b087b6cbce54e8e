// `pnpm bench`: every benchmark, one after the other, each with its baseline in the same run.
await import('./http.js')
await import('./enqueue.js')
await import('./http-latency.js')
await import('./worker.js')
await import('./memory.js')
await import('./orphans.js')
await import('./outbox.js')
