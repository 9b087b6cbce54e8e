// `pnpm worker`: a separate worker process (needs REDIS_URL; start the app with WORKER=separate).
import { loadSettings, runWorker } from '@afterward/example-shared'

await runWorker(loadSettings())
