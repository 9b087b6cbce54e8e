// `pnpm start`: the app on the services named by the environment (embedded defaults otherwise).
import { loadSettings, serve } from '@afterward/example-shared'
import { startApp } from './start-app.js'

await serve('Express', startApp, loadSettings())
