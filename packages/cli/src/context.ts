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

/** Says that no job has this id; returns the exit code for it. */
export function jobNotFound(ctx: CommandContext, id: string): number {
  ctx.output.err(`No job with id '${id}' (never stored, removed, or past its retention period).`)
  return EXIT.NOT_FOUND
}
