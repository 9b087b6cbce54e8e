// Reconciling the broker's schedules with the code: decided here once, for every driver, and
// carried out by the driver's Scheduler. The code is the source of truth, and newer code wins:
// each distinct schedule set (its fingerprint) gets a generation number the first time any
// process registers it, and a process whose set is older than the newest one changes nothing.
import type { Logger } from 'pino'
import type { ScheduleRecord, Scheduler, StoredSchedule } from './driver.js'
import type { ResolvedJobOptions } from './options.js'
import type { AnyTask } from './task.js'
import { AfterwardError, ErrorCode } from './errors.js'
import { scheduleKey, stableHash } from './schedule.js'

/**
 * What `afterward.schedules.sync()` did.
 *
 * @example
 * const { created, removed, stale } = await afterward.schedules.sync()
 */
export interface ScheduleSyncResult {
  /** Keys (`<task>:<id>`, sorted) of schedules created, updated, removed, or left as they were. */
  created: string[]
  updated: string[]
  removed: string[]
  unchanged: string[]
  /**
   * True when newer code has already reconciled this namespace: nothing was changed (see
   * `force`). @defaultValue false
   */
  stale: boolean
  /** The generation of this code's schedule set, and the newest generation in the broker. */
  generation: number
  newest: number
}

/**
 * Options of `afterward.schedules.sync()`.
 *
 * @example
 * await afterward.schedules.sync({ force: true }) // a rollback's deploy script
 */
export interface ScheduleSyncOptions {
  /**
   * Make this code's schedules the newest even if newer code has reconciled before (a
   * rollback, or re-adding a schedule exactly as an older release had it). @defaultValue false
   */
  force?: boolean
}

/** The schedule records of the registered tasks, with the options of each run resolved. */
export function scheduleRecords(
  tasks: Iterable<AnyTask>,
  resolve: (task: AnyTask) => ResolvedJobOptions,
  maxInputBytes: number,
): ScheduleRecord[] {
  const records: ScheduleRecord[] = []
  for (const task of tasks) {
    if (task.schedules.length === 0) continue
    const options: ResolvedJobOptions = { ...resolve(task), delay: 0, key: undefined }
    for (const spec of task.schedules) {
      const bytes = Buffer.byteLength(JSON.stringify(spec.input), 'utf8')
      if (bytes > maxInputBytes) {
        throw new AfterwardError(
          ErrorCode.SCHEDULE_INVALID,
          `Task '${task.name}' schedule '${spec.id}': its input is ${bytes} bytes as JSON, over the ${maxInputBytes}-byte limit; store large data elsewhere and pass its id, or raise maxInputBytes.`,
        )
      }
      const record = {
        key: scheduleKey(task.name, spec.id),
        id: spec.id,
        task: task.name,
        cron: spec.cron,
        every: spec.every,
        tz: spec.tz,
        input: spec.input,
        options,
        overlap: spec.overlap,
      }
      records.push({ ...record, hash: stableHash(record) })
    }
  }
  return records
}

const slot = (s: { key: string; options?: { queue: string }; queue?: string }): string =>
  `${s.options?.queue ?? s.queue}\u0000${s.key}`

/**
 * Makes the broker's schedules those of `records`: creates, updates and removes (only
 * schedules Afterward stored). Does nothing when newer code registered a newer schedule set,
 * unless `force`.
 */
export async function syncSchedules(
  scheduler: Scheduler,
  records: readonly ScheduleRecord[],
  force: boolean,
  log: Logger,
): Promise<ScheduleSyncResult> {
  const fingerprint = stableHash(records.map((r) => `${r.options.queue}:${r.hash}`).sort())
  let numbers = { generation: 0, newest: 0 }
  const check = async (): Promise<ScheduleSyncResult | undefined> => {
    const { generation, newest } = (numbers = await scheduler.generation(fingerprint, force))
    if (generation >= newest) return undefined
    log.warn(
      { generation, newest },
      'schedules not reconciled: newer code has already set them (this instance is out of date; run afterward.schedules.sync({ force: true }) to roll back)',
    )
    return { created: [], updated: [], removed: [], unchanged: [], stale: true, generation, newest }
  }
  const stale = await check()
  if (stale) return stale
  let plan = diff(records, await scheduler.stored())
  if (plan.changes === 0) return { ...plan.result, ...numbers }
  // Changes are made under the lock, on a fresh look: a newer instance may have run meanwhile.
  return scheduler.exclusive(async () => {
    const staleNow = await check()
    if (staleNow) return staleNow
    plan = diff(records, await scheduler.stored())
    for (const record of plan.upserts) await scheduler.upsert(record)
    for (const stored of plan.removals) await scheduler.remove(stored)
    const result = { ...plan.result, ...numbers }
    if (plan.changes > 0) {
      log.info(
        { created: result.created, updated: result.updated, removed: result.removed },
        'schedules reconciled',
      )
    }
    return result
  })
}

function diff(
  records: readonly ScheduleRecord[],
  stored: readonly StoredSchedule[],
): {
  result: ScheduleSyncResult
  upserts: ScheduleRecord[]
  removals: StoredSchedule[]
  changes: number
} {
  const inBroker = new Map(stored.map((s) => [slot(s), s]))
  const result: ScheduleSyncResult = {
    created: [],
    updated: [],
    removed: [],
    unchanged: [],
    stale: false,
    generation: 0,
    newest: 0,
  }
  const upserts: ScheduleRecord[] = []
  for (const record of records) {
    const found = inBroker.get(slot(record))
    inBroker.delete(slot(record))
    if (found?.hash === record.hash) {
      result.unchanged.push(record.key)
      continue
    }
    upserts.push(record)
    ;(found ? result.updated : result.created).push(record.key)
  }
  const removals = [...inBroker.values()]
  result.removed.push(...removals.map((s) => s.key))
  for (const keys of [result.created, result.updated, result.removed, result.unchanged]) keys.sort()
  return { result, upserts, removals, changes: upserts.length + removals.length }
}
