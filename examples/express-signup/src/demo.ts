// `pnpm demo` in this folder: the scripted demo against the Express app (see examples/README.md).
import { runDemo } from '@afterward/example-shared'
import { startApp } from './start-app.js'

process.exitCode = await runDemo('Express', startApp, process.argv.slice(2))
