// The app process of the fault suite, started by test/faults/deployment.ts: a Fastify app with
// Afterward (bullmq driver) and nothing else, so that what the soak measures of this process is
// the app's, not the load generator's or the supervisor's.
//   FAULTS_APP='{"driver":{...}}' tsx test/faults/app.ts
// It tells its parent its URL over IPC once it listens and, when asked, looks up a job or reports
// its memory after a GC; it closes (Fastify, then Afterward) on SIGTERM.
import Fastify from 'fastify'
import { pino } from 'pino'
import { bullmq, createAfterward, type BullmqDriverOptions } from '@afterward/core'
import afterwardPlugin from '@afterward/fastify'
import { answer, memoryAfterGc } from './ipc.js'
import { record } from './task.js'

interface AppConfig {
  driver: BullmqDriverOptions
}

const config = JSON.parse(process.env.FAULTS_APP!) as AppConfig
const afterward = createAfterward({
  tasks: [record],
  driver: bullmq(config.driver),
  logger: pino({ level: process.env.FAULTS_LOG ?? 'silent' }),
})
const app = Fastify()
await app.register(afterwardPlugin, { afterward })
app.post<{ Body: { n: number } }>('/orders', async (request, reply) => {
  const job = reply.defer(record, { n: request.body.n })
  return { jobId: job.id }
})

answer({
  // The suite looks up an acknowledged job that never ran.
  job: (id: string) => afterward.jobs.get(id),
  // The soak's sample.
  memory: memoryAfterGc,
})
// The suite is gone (killed, or crashed): never outlive it.
process.once('disconnect', () => process.exit(1))
process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0))
})
const url = await app.listen({ port: 0, host: '127.0.0.1' })
process.send!({ type: 'ready', url })
