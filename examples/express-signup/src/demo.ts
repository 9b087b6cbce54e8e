// The scripted demo against the Express app (`pnpm demo` here; at the repository root it runs the
// Fastify one). See examples/README.md.
import { runDemo, runMain } from '@afterward/example-shared'
import { startApp } from './start-app.js'

await runMain(() => runDemo('Express', startApp, process.argv.slice(2)))
