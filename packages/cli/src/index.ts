export { processIo, runCli } from './program.js'
export type { CliIo, RunCliOptions } from './program.js'
export { CONFIG_NAMES } from './load.js'
