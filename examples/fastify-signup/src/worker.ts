// `pnpm worker`: a separate worker process (needs REDIS_URL; start the app with WORKER=separate).
// Traced like the app (see tracing.ts): its process spans join the trace of the request.
import { loadSettings, runMain, runWorker } from '@afterward/example-shared'
import { startTracing } from './tracing.js'

await runMain(() => runWorker(loadSettings(), startTracing()))
