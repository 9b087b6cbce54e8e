export { runCli } from './program.js'
export type { CliIo } from './program.js'
export { CONFIG_NAMES } from './load.js'
