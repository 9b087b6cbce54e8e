// Schedules as users write them on `defineTask({ schedule })`, checked once when the task is
// defined, and the tick arithmetic shared by the drivers: cron through cron-parser (the parser
// BullMQ itself uses, so memory() and bullmq() agree on every date), `every` as BullMQ does it.
import { createHash } from 'node:crypto'
import type { StandardSchemaV1 } from '@standard-schema/spec'
import { CronExpressionParser } from 'cron-parser'
import { AfterwardError, ErrorCode } from './errors.js'
import { checkJson } from './json.js'

/**
 * What a scheduled run does when the previous run of the same schedule is still going.
 *
 * @example
 * defineTask({ name: 'sync-crm', schedule: { every: 60_000, overlap: 'allow' }, run })
 */
export type OverlapPolicy = 'skip' | 'allow'

/**
 * One schedule of a task: a `cron` expression (read in `tz`) or a fixed interval `every`.
 *
 * @example
 * defineTask({ name: 'nightly-report', schedule: { cron: '0 3 * * *', tz: 'Europe/Berlin' }, run })
 * defineTask({ name: 'pull-config', schedule: { every: 60_000 }, run })
 */
export interface ScheduleOptions<I = unknown> {
  /**
   * Stable id, unique within the task: the broker keeps one scheduler per task and id, so
   * renaming it replaces the schedule. Required when a task has several schedules.
   * @defaultValue 'default'
   */
  id?: string
  /** Cron expression (5 fields, or 6 with seconds first), e.g. `0 3 * * *`. */
  cron?: string
  /** Interval in ms, at least 1_000. Exactly one of `cron` and `every`. */
  every?: number
  /** IANA time zone the cron expression is read in (cron only). @defaultValue 'UTC' */
  tz?: string
  /** The input of every run, checked against the task's schema when the task is defined. @defaultValue undefined (no input) */
  input?: I
  /**
   * When a tick comes while the previous run of this schedule is still going: `skip` completes
   * the new run at once without running the task; `allow` runs both. @defaultValue 'skip'
   */
  overlap?: OverlapPolicy
}

/**
 * A schedule checked and completed with its defaults, as `task.schedules` holds it.
 *
 * @example
 * defineTask({ name: 'tick', schedule: { every: 60_000 }, run }).schedules[0]?.overlap // 'skip'
 */
export interface ScheduleSpec {
  id: string
  cron: string | undefined
  every: number | undefined
  tz: string | undefined
  input: unknown
  overlap: OverlapPolicy
}

const ID = /^[\w.-]{1,100}$/
export const MIN_EVERY_MS = 1_000

/** Throws `AFTERWARD_SCHEDULE_INVALID` naming the task, the schedule and what is wrong. */
export function scheduleError(
  task: string,
  id: string | undefined,
  problem: string,
): AfterwardError {
  const which = id === undefined ? '' : ` schedule '${id}'`
  return new AfterwardError(ErrorCode.SCHEDULE_INVALID, `Task '${task}'${which}: ${problem}.`)
}

/**
 * Checks a task's `schedule` (one or an array) and returns it with defaults applied. The
 * input is checked to be plain JSON and, when the task has a schema, to pass it.
 */
export function checkSchedules(
  task: string,
  schedule: ScheduleOptions | readonly ScheduleOptions[] | undefined,
  schema: StandardSchemaV1 | undefined,
): ScheduleSpec[] {
  if (schedule === undefined) return []
  const list = Array.isArray(schedule) ? schedule : [schedule as ScheduleOptions]
  if (Array.isArray(schedule) && list.length === 0) {
    throw scheduleError(task, undefined, 'schedule is an empty array; leave it out instead')
  }
  const seen = new Set<string>()
  return list.map((given, n) => {
    if (typeof given !== 'object' || given === null) {
      throw scheduleError(
        task,
        undefined,
        `schedule[${n}] must be an object such as { cron: '0 3 * * *' }`,
      )
    }
    if (Array.isArray(schedule) && list.length > 1 && given.id === undefined) {
      throw scheduleError(
        task,
        undefined,
        `schedule[${n}] needs an id: a task with several schedules names each one ({ id: 'morning', cron: ... })`,
      )
    }
    const id = given.id ?? 'default'
    if (typeof id !== 'string' || !ID.test(id)) {
      throw scheduleError(task, String(id), "the id must be 1-100 letters, digits, '_', '.' or '-'")
    }
    if (seen.has(id))
      throw scheduleError(task, id, 'this id is used twice; give each schedule its own id')
    seen.add(id)
    const known = new Set(['id', 'cron', 'every', 'tz', 'input', 'overlap'])
    const unknown = Object.keys(given).find((key) => !known.has(key))
    if (unknown !== undefined) {
      throw scheduleError(
        task,
        id,
        `unknown option '${unknown}' (use cron, every, tz, input, overlap)`,
      )
    }
    const { cron, every, tz } = given
    if ((cron === undefined) === (every === undefined)) {
      throw scheduleError(task, id, "give exactly one of cron ('0 3 * * *') and every (ms)")
    }
    if (every !== undefined) {
      if (!Number.isInteger(every) || every < MIN_EVERY_MS) {
        throw scheduleError(
          task,
          id,
          `every must be a whole number of ms, at least ${MIN_EVERY_MS} (got ${String(every)})`,
        )
      }
      if (tz !== undefined)
        throw scheduleError(task, id, 'tz applies to cron schedules only; leave it out with every')
    } else {
      checkCron(task, id, cron, tz ?? 'UTC')
    }
    const overlap = given.overlap ?? 'skip'
    if (overlap !== 'skip' && overlap !== 'allow') {
      throw scheduleError(
        task,
        id,
        `overlap must be 'skip' or 'allow' (got ${JSON.stringify(overlap)})`,
      )
    }
    return {
      id,
      cron,
      every,
      tz: cron === undefined ? undefined : (tz ?? 'UTC'),
      input: checkInput(task, id, given.input, schema),
      overlap,
    }
  })
}

function checkCron(task: string, id: string, cron: unknown, tz: unknown): void {
  if (typeof tz !== 'string' || !isTimeZone(tz)) {
    throw scheduleError(
      task,
      id,
      `unknown time zone ${JSON.stringify(tz)}; use an IANA name such as 'Europe/Berlin' or 'UTC'`,
    )
  }
  if (typeof cron !== 'string')
    throw scheduleError(task, id, 'cron must be a string such as 0 3 * * *')
  try {
    CronExpressionParser.parse(cron, { tz, strict: false }).next()
  } catch (err) {
    throw scheduleError(
      task,
      id,
      `invalid cron expression '${cron}' (${(err as Error).message}); use 5 fields (minute hour day month weekday) or 6 with seconds first`,
    )
  }
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz })
    return true
  } catch {
    return false
  }
}

function checkInput(
  task: string,
  id: string,
  input: unknown,
  schema: StandardSchemaV1 | undefined,
): unknown {
  const raw = input === undefined && schema === undefined ? null : input
  const json = checkJson(raw)
  if (json.problem)
    throw scheduleError(
      task,
      id,
      `input is not plain JSON at ${json.problem.path}: ${json.problem.message}`,
    )
  if (!schema) return json.value
  const result = schema['~standard'].validate(json.value)
  if (result instanceof Promise) {
    throw scheduleError(
      task,
      id,
      'the input schema validates asynchronously; use a synchronous schema',
    )
  }
  if (result.issues) {
    const issue = result.issues[0]!
    const path = (issue.path ?? [])
      .map((p) => (typeof p === 'object' ? p.key : p))
      .map(String)
      .join('.')
    throw scheduleError(
      task,
      id,
      `input fails the task's schema${path ? ` at input.${path}` : ''}: ${issue.message}`,
    )
  }
  return json.value
}

/**
 * The first tick after `after` (ms) of a cron schedule: cron-parser, in the schedule's time
 * zone, so that a tick is at local wall time on both sides of a DST change.
 */
export function nextCronTick(cron: string, tz: string, after: number): number {
  return CronExpressionParser.parse(cron, { tz, currentDate: new Date(after) })
    .next()
    .getTime()
}

/**
 * The next tick of an `every` schedule, as BullMQ computes it: the first run is at once, each
 * next one `every` after the previous; after missed ticks, the next aligned slot after now.
 */
export function nextEveryTick(previous: number | undefined, every: number, now: number): number {
  if (previous === undefined) return now
  const next = previous + every
  if (next >= now) return next
  const offset = previous % every
  const aligned = Math.floor(now / every) * every + offset
  return aligned <= now ? aligned + every : aligned
}

/**
 * The key of a task's schedule, unique in its queue: the id of its BullMQ job scheduler, and what
 * the drivers record its last run under.
 */
export function scheduleKey(task: string, id: string): string {
  return `${task}:${id}`
}

/** A short, stable hash of JSON-able values (sorted keys), for change detection. */
export function stableHash(value: unknown): string {
  return createHash('sha256').update(stableJson(value)).digest('hex').slice(0, 16)
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}
