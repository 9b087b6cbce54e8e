// The fault suite's one task. Its effect is recorded outside the broker, in a file that only the
// workers append to (one line per run that reached its end), so that the suite can count lost and
// duplicate runs whatever the broker kept. With a database, the task first writes its row through
// ctx.db (idempotently, keyed by job id, as a real task should), so that PostgreSQL faults hit it.
import { appendFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { defineTask, type TaskContext } from '@afterward/core'
import type { PrismaClient } from '../prisma/generated/client.js'

/** How long each run works before it records its effect: long enough to be cut off by a kill. */
export const WORK_MS = 100

let running = 0
/** Runs of `record` in progress in this process: a worker is killed while it has some. */
export const runningNow = (): number => running

export const record = defineTask({
  name: 'record',
  // Generous retries: a fault may fail several attempts in a row; none may fail the job for good.
  retry: { attempts: 30, backoff: { type: 'fixed', delay: 500 } },
  timeout: 5_000,
  async run(input: { n: number }, ctx: TaskContext<{ db?: PrismaClient }>) {
    running++
    try {
      await work(input, ctx)
    } finally {
      running--
    }
  },
})

async function work(input: { n: number }, ctx: TaskContext<{ db?: PrismaClient }>): Promise<void> {
  await sleep(WORK_MS, undefined, { signal: ctx.signal })
  await ctx.db?.note.upsert({
    where: { jobId: ctx.job.id },
    create: { jobId: ctx.job.id, body: String(input.n) },
    update: {},
  })
  // A run past its timeout is being retried already: a task that checks its signal before
  // its effect leaves that effect to the retry (without this check, a PostgreSQL frozen for
  // 20 s made 80 jobs record their effect twice).
  ctx.signal.throwIfAborted()
  // One short O_APPEND write per run: atomic on Linux, so lines of several workers never mix.
  appendFileSync(
    process.env.FAULTS_EFFECTS!,
    `${ctx.job.id} ${Date.now()} ${ctx.job.redelivered ? 'redelivered' : 'first'}\n`,
  )
}
