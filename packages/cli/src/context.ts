import type { Afterward } from '@afterward/core'
import type { Output } from './format.js'

/** What every command gets. */
export interface CommandContext {
  afterward: Afterward
  /** Built from a broker URL without the app's code: commands that change jobs refuse. */
  readOnly: boolean
  output: Output
  /** `--json`: one JSON document on stdout, nothing else there. */
  json: boolean
  /** Asks the operator (on a terminal) and resolves with the answer. */
  confirm(question: string): Promise<boolean>
}

/** Exit codes: 0 found (or done), 1 not found (or failed), 2 usage error. */
export const EXIT = { OK: 0, NOT_FOUND: 1, USAGE: 2 } as const
