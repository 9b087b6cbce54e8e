// Lifecycle events (afterward.on), run against every driver by `driverConformance`: the same job
// gives the same events in the same order on memory(), on Redis and on PostgreSQL. `stalled`
// needs a worker that dies mid-job: test/drivers/bullmq-orphans.test.ts covers it on BullMQ.
import { pino } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import {
  AfterwardEnqueueError,
  PermanentError,
  defineTask,
  type Afterward,
  AFTERWARD_EVENTS,
  type AfterwardEventName,
  type AfterwardEvents,
  type Driver,
  type Producer,
} from '../index.js'
import { closeInstances, deferred, instance } from './support.js'

type Seen = { [E in AfterwardEventName]: { name: E } & AfterwardEvents[E] }[AfterwardEventName]

/** Subscribes to every event; returns what was seen, in order. */
function record(afterward: Afterward): Seen[] {
  const seen: Seen[] = []
  for (const name of AFTERWARD_EVENTS) {
    afterward.on(name, (event) => void seen.push({ name, ...event } as Seen))
  }
  return seen
}

const names = (seen: Seen[], jobId?: string): string[] =>
  seen.filter((e) => jobId === undefined || e.jobId === jobId).map((e) => e.name)

/** The names, without one that may come anywhere after the first. */
const without = (name: string, list: string[]): string[] => {
  expect(list.filter((n) => n === name)).toHaveLength(1)
  return list.filter((n) => n !== name)
}

const fixed = (attempts: number) => ({
  attempts,
  backoff: { type: 'fixed' as const, delay: 20, jitter: 0 },
})

/** The lifecycle-event part of the driver suite (`driverConformance` runs it). */
export function eventConformance(name: string, makeDriver: () => Driver): void {
  describe(`lifecycle events: ${name}`, () => {
    afterEach(closeInstances)
    it('reports deferred, enqueued, started and completed, with the job, its request and trace', async () => {
      const task = defineTask({ name: 'welcome', queue: 'mail', run: () => undefined })
      const afterward = instance({ tasks: [task], driver: makeDriver() })
      const seen = record(afterward)
      await afterward.worker().start()
      const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'
      const scope = afterward.scope({ requestId: 'req-events', trace: { traceparent } })
      const { id } = scope.defer(task, undefined)
      expect(names(seen)).toEqual(['deferred'])
      await scope.flush()
      await afterward.jobs.wait(id)

      // 'enqueued' is reported when the producer hears that the job is stored, which a fast
      // worker may beat ('started'): the order holds on each side, not across them.
      expect(without('enqueued', names(seen, id))).toEqual(['deferred', 'started', 'completed'])
      const common = {
        jobId: id,
        task: 'welcome',
        queue: 'mail',
        requestId: 'req-events',
        trace: { traceparent },
      }
      expect(seen).toHaveLength(4)
      expect(seen).toEqual(
        expect.arrayContaining([
          { name: 'deferred', ...common, attempt: 0 },
          {
            name: 'enqueued',
            ...common,
            attempt: 0,
            durationMs: expect.any(Number),
            deduplicatedInto: undefined,
          },
          {
            name: 'started',
            ...common,
            attempt: 1,
            waitMs: expect.any(Number),
            redelivered: false,
          },
          { name: 'completed', ...common, attempt: 1, durationMs: expect.any(Number) },
        ]),
      )
      for (const e of seen) {
        if ('durationMs' in e) expect(e.durationMs).toBeGreaterThanOrEqual(0)
      }
    })

    it('reports each failed attempt as retrying with its delay, and the last one as failed', async () => {
      const task = defineTask({
        name: 'flaky',
        retry: fixed(2),
        run() {
          throw new Error('upstream said no')
        },
      })
      const afterward = instance({ tasks: [task], driver: makeDriver() })
      const seen = record(afterward)
      await afterward.worker().start()
      const { id } = await afterward.enqueue(task, undefined)
      const info = await afterward.jobs.wait(id)
      expect(info.state).toBe('failed')

      expect(without('enqueued', names(seen, id))).toEqual([
        'deferred',
        'started',
        'retrying',
        'started',
        'failed',
      ])
      const retrying = seen.find((e) => e.name === 'retrying')
      expect(retrying).toMatchObject({ attempt: 1, delayMs: 20 })
      expect(retrying?.name === 'retrying' && retrying.error.message).toBe('upstream said no')
      const failed = seen.find((e) => e.name === 'failed')
      expect(failed).toMatchObject({ attempt: 2 })
      expect(failed?.name === 'failed' && failed.error.message).toBe('upstream said no')
    })

    it('reports a PermanentError as failed at once, with no retrying', async () => {
      const task = defineTask({
        name: 'gone',
        retry: fixed(5),
        run() {
          throw new PermanentError('user no longer exists')
        },
      })
      const afterward = instance({ tasks: [task], driver: makeDriver() })
      const seen = record(afterward)
      await afterward.worker().start()
      const { id } = await afterward.enqueue(task, undefined)
      expect(await afterward.jobs.wait(id)).toMatchObject({ state: 'failed', attemptsMade: 1 })
      expect(without('enqueued', names(seen, id))).toEqual(['deferred', 'started', 'failed'])
    })

    it('reports discarded jobs, which are never stored', async () => {
      const task = defineTask({ name: 'receipt', run: () => undefined })
      const afterward = instance({ tasks: [task], driver: makeDriver() })
      const seen = record(afterward)
      const scope = afterward.scope({ requestId: 'req-discarded' })
      const a = scope.defer(task, undefined)
      const b = scope.defer(task, undefined)
      expect(scope.discard()).toBe(2)
      expect(names(seen)).toEqual(['deferred', 'deferred', 'discarded', 'discarded'])
      expect(seen.slice(2).map((e) => e.jobId)).toEqual([a.id, b.id])
      expect(await afterward.jobs.get(a.id)).toBeUndefined()
    })

    it('reports a job the worker handed back at shutdown, then its run to completion', async () => {
      const first = deferred()
      let runs = 0
      const redelivered: boolean[] = []
      const task = defineTask({
        name: 'stubborn',
        async run(_input: void, ctx) {
          redelivered.push(ctx.job.redelivered)
          if (++runs === 1) {
            first.resolve()
            await new Promise((r) => ctx.signal.addEventListener('abort', r))
          }
        },
      })
      const afterward = instance({ tasks: [task], driver: makeDriver() })
      const seen = record(afterward)
      const worker = afterward.worker({ gracePeriod: 50 })
      await worker.start()
      const { id } = await afterward.enqueue(task, undefined)
      await first.promise
      await worker.close()
      expect(without('enqueued', names(seen, id))).toEqual(['deferred', 'started', 'handed-back'])
      await afterward.worker().start()
      await afterward.jobs.wait(id)
      expect(without('enqueued', names(seen, id)).slice(3)).toEqual(['started', 'completed'])
      // The attempt handed back does not count: the run that completed is attempt 1 again, and
      // it knows that an earlier run was cut off.
      expect(seen.at(-1)).toMatchObject({ name: 'completed', attempt: 1 })
      expect(redelivered).toEqual([false, true])
      // The run that recovers it says so on its 'started' event (a driver that finds a dead
      // worker's job reports 'stalled' first; a shutdown's hand-back is no stall).
      const starts = seen.filter((e) => e.name === 'started')
      expect(starts.map((e) => e.name === 'started' && e.redelivered)).toEqual([false, true])
    })

    it('a listener that throws or rejects is logged and breaks nothing; on() returns an unsubscribe', async () => {
      const lines: { msg: string; event?: string }[] = []
      const logger = pino(
        { level: 'error' },
        { write: (l: string) => void lines.push(JSON.parse(l)) },
      )
      const task = defineTask({ name: 'ok', run: () => undefined })
      const afterward = instance({ tasks: [task], driver: makeDriver(), logger })
      afterward.on('started', () => {
        throw new Error('listener bug')
      })
      afterward.on('completed', () => Promise.reject(new Error('async listener bug')))
      let deferredCount = 0
      const off = afterward.on('deferred', () => void deferredCount++)
      await afterward.worker().start()
      const { id } = await afterward.enqueue(task, undefined)
      expect(await afterward.jobs.wait(id)).toMatchObject({ state: 'completed' })
      await expect
        .poll(() => lines.filter((l) => l.msg === 'event listener failed; ignored'))
        .toHaveLength(2)
      expect(lines.map((l) => l.event).sort()).toEqual(['completed', 'started'])
      off()
      const second = await afterward.enqueue(task, undefined)
      await afterward.jobs.wait(second.id)
      expect(deferredCount).toBe(1)
    })

    it("a scope's producer stands in front of the driver; its failures are enqueue-failed", async () => {
      const task = defineTask({ name: 'outboxed', run: () => undefined })
      const driver = makeDriver()
      const afterward = instance({ tasks: [task], driver })
      const seen = record(afterward)
      const handed: string[][] = []
      const relaying: Producer = {
        enqueue(records, signal) {
          handed.push(records.map((r) => r.id))
          return driver.enqueue(records, signal)
        },
      }
      const scope = afterward.scope({ requestId: 'req-producer', producer: relaying })
      const { id } = scope.defer(task, undefined)
      await scope.flush()
      expect(handed).toEqual([[id]])
      expect(await afterward.jobs.get(id)).toMatchObject({ requestId: 'req-producer' })

      const refusing: Producer = {
        enqueue: () => Promise.reject(new Error('outbox table missing')),
      }
      const failing = afterward.scope({ requestId: 'req-refused', producer: refusing })
      const lost = failing.defer(task, undefined)
      const error = await failing.flush().catch((err: unknown) => err)
      expect(error).toBeInstanceOf(AfterwardEnqueueError)
      expect((error as Error).message).toContain('outbox table missing')
      const failed = seen.filter((e) => e.name === 'enqueue-failed')
      expect(failed).toHaveLength(1)
      expect(failed[0]).toMatchObject({ jobId: lost.id, requestId: 'req-refused' })
      expect(await afterward.jobs.get(lost.id)).toBeUndefined()
    })
  })
}
