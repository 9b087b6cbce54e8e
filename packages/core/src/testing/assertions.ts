// The readable assertions of testDriver(): plain node:assert errors, so that they read the same
// under Vitest, Jest and node:test.
import { AssertionError } from 'node:assert'
import { isDeepStrictEqual } from 'node:util'
import type { JobInfo } from '../driver.js'
import type { ResolvedJobOptions } from '../options.js'
import type { AnyTask, TaskInput } from '../task.js'

/**
 * A job that a `testDriver()` recorded: what `jobs.get` shows, plus its options and due time.
 *
 * @example
 * expect(driver.jobs({ task: sendWelcomeEmail })).toMatchObject([{ state: 'completed' }])
 */
export interface RecordedJob extends JobInfo {
  /** The job's options, resolved (call site > route > task > defaults). */
  options: ResolvedJobOptions
  /** When it is due on the test clock (its delay, or the backoff of its next attempt). */
  runAt: Date
}

/**
 * Which recorded jobs an assertion or `jobs()` looks at. Every field is optional.
 *
 * @example
 * driver.assertNothingDeferred({ requestId: res.headers['x-request-id'] as string })
 */
export interface RecordedJobFilter {
  /** Only jobs of this task (the task, or its name). */
  task?: AnyTask | string
  /** Only jobs deferred by this request (the `X-Request-Id` the response carries). */
  requestId?: string
  /** Only jobs in this state. */
  state?: JobInfo['state']
}

/**
 * What `assertDeferred` compares besides the task; each field given must match.
 *
 * @example
 * driver.assertDeferred(shipOrder, { input: { orderId: 7 }, options: { delay: 3_600_000 } })
 */
export interface DeferredExpectation<T extends AnyTask = AnyTask> {
  /** The input, compared in its JSON form (a `Date` as its ISO string). */
  input?: TaskInput<T>
  /** Only jobs of this request. */
  requestId?: string
  /** Resolved options to compare, e.g. `{ delay: 60_000, priority: 'high' }`. */
  options?: Partial<ResolvedJobOptions>
}

export function matches(job: RecordedJob, filter: RecordedJobFilter): boolean {
  const task = typeof filter.task === 'string' ? filter.task : filter.task?.name
  return (
    (task === undefined || job.task === task) &&
    (filter.requestId === undefined || job.requestId === filter.requestId) &&
    (filter.state === undefined || job.state === filter.state)
  )
}

/** One line per job: `send-welcome-email {"userId":1} (request req-1, waiting)`. */
export function describeJobs(jobs: readonly RecordedJob[]): string {
  if (jobs.length === 0) return '  (none)'
  return jobs
    .map(
      (j) =>
        `  ${j.task} ${JSON.stringify(j.input)} (${j.requestId === undefined ? 'no request' : `request ${j.requestId}`}, ${j.state})`,
    )
    .join('\n')
}

export function assertDeferred(
  all: readonly RecordedJob[],
  task: AnyTask,
  expected: DeferredExpectation = {},
): RecordedJob {
  const wanted = 'input' in expected ? JSON.parse(JSON.stringify(expected.input ?? null)) : NONE
  const found = all.find(
    (job) =>
      matches(job, { task, requestId: expected.requestId }) &&
      (wanted === NONE || isDeepStrictEqual(job.input, wanted)) &&
      Object.entries(expected.options ?? {}).every(([k, v]) =>
        isDeepStrictEqual(job.options[k as keyof ResolvedJobOptions], v),
      ),
  )
  if (found) return found
  const what = [
    wanted === NONE ? undefined : `input ${JSON.stringify(wanted)}`,
    expected.requestId === undefined ? undefined : `request ${expected.requestId}`,
    expected.options === undefined ? undefined : `options ${JSON.stringify(expected.options)}`,
  ].filter((part) => part !== undefined)
  throw new AssertionError({
    message: `Expected '${task.name}' to be deferred${what.length > 0 ? ` with ${what.join(', ')}` : ''}. Jobs recorded:\n${describeJobs(all)}`,
    stackStartFn: assertDeferred,
  })
}

export function assertNothingDeferred(
  all: readonly RecordedJob[],
  filter: RecordedJobFilter = {},
): void {
  const found = all.filter((job) => matches(job, filter))
  if (found.length === 0) return
  const task = typeof filter.task === 'string' ? filter.task : filter.task?.name
  const scope = [
    task === undefined ? undefined : `of '${task}'`,
    filter.requestId === undefined ? undefined : `by request ${filter.requestId}`,
    filter.state === undefined ? undefined : `in state ${filter.state}`,
  ].filter((part) => part !== undefined)
  throw new AssertionError({
    message: `Expected no job${scope.length > 0 ? ` ${scope.join(' ')}` : ''} to be deferred, but ${found.length} ${found.length === 1 ? 'was' : 'were'}:\n${describeJobs(found)}`,
    stackStartFn: assertNothingDeferred,
  })
}

const NONE = Symbol('no input given')
