// `pnpm worker`: a separate worker process (needs REDIS_URL; start the app with WORKER=separate).
import { loadSettings, runMain, runWorker } from '@afterward/example-shared'

await runMain(() => runWorker(loadSettings()))
