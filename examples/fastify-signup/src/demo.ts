// `pnpm demo` at the repository root: see examples/README.md.
import { runDemo } from '@afterward/example-shared'
import { startApp } from './start-app.js'

process.exitCode = await runDemo('Fastify', startApp, process.argv.slice(2))
