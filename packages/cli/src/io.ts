// Where the command reads and writes, and how it asks: the process's own streams by default.
import { createInterface } from 'node:readline/promises'
import { UsageError } from './usage-error.js'

/** Where the command reads and writes; `process`'s own by default. */
export interface CliIo {
  stdout: { write(text: string): unknown; isTTY?: boolean }
  stderr: { write(text: string): unknown }
  stdin: NodeJS.ReadableStream & { isTTY?: boolean }
  cwd: string
  env: NodeJS.ProcessEnv
  /** Resolves when a long-running command (`dashboard`) should stop: SIGINT or SIGTERM. */
  stopped?: Promise<unknown>
}

/** Asks on a terminal; refuses (a usage error) when stdin is not one. */
export async function confirm(io: CliIo, question: string): Promise<boolean> {
  if (!io.stdin.isTTY) {
    throw new UsageError(`${question} Not asked: stdin is not a terminal. Pass --yes to go ahead.`)
  }
  const rl = createInterface({ input: io.stdin, output: io.stderr as NodeJS.WritableStream })
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim())
  } finally {
    rl.close()
  }
}

/** Resolves on the first SIGINT or SIGTERM. */
export function signalled(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
}

/** The process's own stdout, stderr, stdin, working directory and environment. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    cwd: process.cwd(),
    env: process.env,
  }
}
