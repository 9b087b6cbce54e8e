// Runs the real `afterward` binary as a child process, from its TypeScript sources through tsx
// (as `node --import tsx`), so that tests never run a stale build.
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const bin = fileURLToPath(new URL('../../packages/cli/src/bin.ts', import.meta.url))
export const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url))

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** `afterward ...args` in `cwd`, with `env` on top of a clean environment (no REDIS_URL). */
export function afterward(
  args: readonly string[],
  { cwd = fixtures, env = {} }: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const { REDIS_URL: _r, DATABASE_URL: _d, FORCE_COLOR: _f, ...inherited } = process.env
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', bin, ...args],
      { cwd, env: { ...inherited, NO_COLOR: '1', ...env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0
        resolve({ code, stdout, stderr })
      },
    )
  })
}

/** The JSON a `--json` run printed. */
export function json<T = Record<string, unknown>>(result: CliResult): T {
  return JSON.parse(result.stdout) as T
}
