import type { CommandContext } from '../context.js'
import { UsageError } from '../usage-error.js'

/** Commands that change jobs need the app's own instance, not a read-only view. */
export function refuseReadOnly(ctx: CommandContext, command: string): void {
  if (!ctx.readOnly) return
  throw new UsageError(
    `afterward ${command} changes jobs, and a broker URL (--redis, --postgres, REDIS_URL, DATABASE_URL) without a config gives a read-only view. Run it with your config: --config afterward.config.ts (or one in the working directory).`,
  )
}
