// `pnpm start`: the app on the services named by the environment (embedded defaults otherwise).
import { loadSettings, runMain, serve } from '@afterward/example-shared'
import { startApp } from './start-app.js'

await runMain(() => serve('Fastify', startApp, loadSettings()))
