// A worker process of the fault suite, started (and killed) by test/faults/deployment.ts:
//   FAULTS_WORKER='{"driver":{...},"db":"postgres://..."}' FAULTS_EFFECTS=file \
//     tsx --conditions=source test/faults/worker.ts
// It tells its parent over IPC when it is ready and, when asked, how many runs it has in
// progress; it shuts down cleanly on SIGTERM.
import { pino } from 'pino'
import { bullmq, createAfterward, type BullmqDriverOptions } from '@afterward/core'
import { prismaContext } from '@afterward/prisma'
import { createPrisma } from '../support/pg.js'
import { answer, memoryAfterGc } from './ipc.js'
import { record, runningNow } from './task.js'

interface WorkerConfig {
  driver: BullmqDriverOptions
  /** PostgreSQL URL for the task's Prisma context; none: the task uses no database. */
  db?: string
  concurrency: number
}

const config = JSON.parse(process.env.FAULTS_WORKER!) as WorkerConfig
const db = config.db
const afterward = createAfterward({
  tasks: [record],
  driver: bullmq(config.driver),
  logger: pino({ level: process.env.FAULTS_LOG ?? 'silent' }),
  context:
    db === undefined
      ? {}
      : {
          db: prismaContext(({ poolSize }) =>
            createPrisma(db, { applicationName: 'faults-worker', max: poolSize }),
          ),
        },
})
const worker = afterward.worker({ concurrency: config.concurrency })
// The suite asks how many runs are in progress before it kills this worker; the soak samples
// its memory.
answer({ running: runningNow, memory: memoryAfterGc })
// The suite is gone (killed, or crashed): never outlive it.
process.once('disconnect', () => process.exit(1))
process.once('SIGTERM', () => {
  void afterward.close().then(() => process.exit(0))
})
await worker.start()
process.send!({ type: 'ready' })
