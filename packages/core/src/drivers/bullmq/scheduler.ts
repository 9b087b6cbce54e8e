// The Scheduler of bullmq(): BullMQ's job schedulers (upsertJobScheduler, removeJobScheduler,
// getJobSchedulers), the same code on Redis and PostgreSQL. BullMQ keeps one planned job per
// scheduler, named `repeat:<scheduler id>:<tick>`, and plans the next one when a worker takes it,
// so a tick is one job however many workers run. Afterward marks its own schedulers in their
// job template (`data.schedule.by`) and never touches another application's.
import type { Queue } from 'bullmq'
import type {
  DeliveredJob,
  ScheduleRecord,
  ScheduleState,
  Scheduler,
  StoredSchedule,
} from '../../driver.js'
import type { BackendStore } from './store.js'
import { PRIORITY_RANK } from '../../options.js'
import { scheduleKey } from '../../schedule.js'
import { BACKOFF_TYPE, type BullJobLike, type StoredData, toInfo } from './job-data.js'

/** A job scheduler as BullMQ lists it (the slice read here). */
interface SchedulerJson {
  key: string
  name: string
  pattern?: string | undefined
  every?: number | undefined
  tz?: string | undefined
  next?: number | undefined
  template?: { data?: StoredData } | undefined
}

/** Where a schedule's last run is recorded: its queue and key. */
const slot = (queue: string, key: string): string => `${queue}/${key}`

export function bullmqScheduler(
  queue: (name: string) => Promise<Queue>,
  store: BackendStore,
): Scheduler {
  /** Afterward's schedulers in every queue the namespace knows. */
  async function ours(): Promise<{ queue: string; json: SchedulerJson }[]> {
    const found = await Promise.all(
      (await store.queues()).map(async (name) => {
        const all = (await (await queue(name)).getJobSchedulers()) as SchedulerJson[]
        return all
          .filter((json) => json.template?.data?.schedule?.by === 'afterward')
          .map((json) => ({ queue: name, json }))
      }),
    )
    return found.flat()
  }

  async function lastRun(queueName: string, id: string | undefined) {
    if (id === undefined) return undefined
    const q = await queue(queueName)
    const state = await q.getJobState(id)
    const job = state === 'unknown' ? undefined : ((await q.getJob(id)) as BullJobLike | undefined)
    const info = job && toInfo(job, state)
    return info?.schedule && { jobId: id, tick: info.schedule.tick, state: info.state }
  }

  return {
    exclusive: (fn) => store.scheduleLock(fn),

    generation: (fingerprint, force) => store.scheduleGeneration(fingerprint, force),

    async stored(): Promise<StoredSchedule[]> {
      return (await ours()).map(({ queue: name, json }) => ({
        key: json.key,
        queue: name,
        hash: json.template!.data!.schedule!.hash,
      }))
    },

    async upsert(record: ScheduleRecord): Promise<void> {
      const name = record.options.queue
      await store.rememberQueues([name])
      const o = record.options
      const retries = o.attempts > 1
      const data: StoredData = {
        input: record.input,
        options: { ...(retries ? { backoff: o.backoff } : {}), timeout: o.timeout },
        schedule: { by: 'afterward', id: record.id, hash: record.hash, overlap: record.overlap },
      }
      const repeat =
        record.cron !== undefined
          ? { pattern: record.cron, tz: record.tz }
          : { every: record.every }
      await (
        await queue(name)
      ).upsertJobScheduler(record.key, repeat, {
        name: record.task,
        data,
        opts: {
          priority: PRIORITY_RANK[o.priority],
          ...(retries ? { attempts: o.attempts, backoff: { type: BACKOFF_TYPE } } : {}),
        },
      })
    },

    async remove(stored: StoredSchedule): Promise<void> {
      await (await queue(stored.queue)).removeJobScheduler(stored.key)
    },

    async list(): Promise<ScheduleState[]> {
      const found = await ours()
      const runs = await store.lastRuns(found.map(({ queue: q, json }) => slot(q, json.key)))
      return Promise.all(
        found.map(async ({ queue: name, json }, i) => {
          const mark = json.template!.data!.schedule!
          return {
            key: json.key,
            queue: name,
            hash: mark.hash,
            id: mark.id,
            task: json.name,
            cron: json.pattern,
            every: json.every,
            tz: json.pattern === undefined ? undefined : json.tz,
            overlap: mark.overlap,
            nextRunAt: json.next ? new Date(json.next) : undefined,
            lastRun: await lastRun(name, runs[i]),
          }
        }),
      )
    },

    async claimRun(job: DeliveredJob, overlap): Promise<boolean> {
      const name = job.options.queue
      const key = scheduleKey(job.task, job.schedule!.id)
      if (overlap === 'skip') {
        const active = (await (await queue(name)).getActive()) as BullJobLike[]
        if (active.some((other) => other.repeatJobKey === key && other.id !== job.id)) return false
      }
      await store.recordRun(slot(name, key), job.id)
      return true
    },
  }
}
