// The end of `pnpm demo`: the command that shows a request's jobs, and what it prints.
import { processIo, runCli } from '@afterward/cli'
import type { Afterward } from '@afterward/core'

/**
 * `afterward request <id>` run on the demo's own instance, with the command to type. With the
 * memory() driver the jobs live in the demo's process, so the command is run here; on Redis
 * (`--use-env`) it works from any shell.
 *
 * @example
 * console.log(await requestInCli(services.afterward, requestId, settings.redisUrl))
 */
export async function requestInCli(
  afterward: Afterward,
  requestId: string,
  redisUrl: string | undefined,
): Promise<string> {
  let text = ''
  const io = {
    ...processIo(),
    stdout: { write: (t: string) => (text += t), isTTY: process.stdout.isTTY },
    stderr: { write: (t: string) => (text += t) },
  }
  await runCli(['request', requestId], io, { afterward })
  const target = redisUrl === undefined ? '' : ` --redis ${redisUrl.replace(/:[^:@/]*@/, ':***@')}`
  const lines = [
    "The order's jobs, from the CLI (afterward request shows any request's jobs):",
    `  $ pnpm afterward${target} request ${requestId}`,
    ...text
      .trimEnd()
      .split('\n')
      .map((line) => (line === '' ? '' : `  ${line}`)),
  ]
  if (redisUrl === undefined) {
    lines.push(
      '  (memory() keeps jobs in the demo process, so the demo ran it; on Redis, REDIS_URL=redis://127.0.0.1:6379 pnpm demo --use-env, the command works from any shell.)',
    )
  }
  return lines.join('\n')
}
