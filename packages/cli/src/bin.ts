#!/usr/bin/env node
import { runCli } from './program.js'

// Exits explicitly: a config module may leave timers or connections open.
process.exit(await runCli(process.argv.slice(2)))
