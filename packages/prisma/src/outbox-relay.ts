// The relay: moves outbox rows to the broker. Each batch runs in one transaction that locks its
// rows (FOR UPDATE SKIP LOCKED, so any number of relays share the table without handing a row to
// two of them), stores them in the broker with the row ids as job ids, then deletes them. A relay
// that dies after storing and before deleting leaves rows that the next batch stores again under
// the same ids, which the broker ignores: no duplicate. It wakes on NOTIFY when it can LISTEN,
// and polls in any case.
import type { GiveUpSignal, JobRecord, Producer } from '@afterward/core'
import type { Logger } from 'pino'
import { OutboxListener } from './outbox-listener.js'
import {
  CLAIM_SQL,
  DELETE_SQL,
  LAG_SQL,
  outboxError,
  recordFromRow,
  type StoredRecord,
} from './outbox-rows.js'
import type { OutboxClient, ResolvedOutboxOptions } from './outbox-options.js'

/**
 * How far behind the relays are.
 *
 * @example
 * const { waiting, oldestMs } = await relay.lag()
 * gauge.set(oldestMs / 1000)
 */
export interface OutboxLag {
  /** Rows waiting in the outbox (committed, not yet in the broker). */
  waiting: number
  /** Age of the oldest waiting row, in ms; 0 when none waits. */
  oldestMs: number
}

/**
 * Moves jobs from the outbox to the broker; made by `prismaOutbox(...).relay(driver)`, and run
 * inside every worker of a driver made by `prismaOutbox(...).driver(inner)`.
 *
 * @example
 * const relay = prismaOutbox(prisma, { listen: process.env.DATABASE_URL }).relay(bullmq({ connection }))
 * await relay.start()
 * process.once('SIGTERM', () => void relay.close())
 */
export interface OutboxRelay {
  /** Starts relaying; resolves once it listens for notifications (when `listen` is set). */
  start(): Promise<void>
  /** Stops after the batch in progress; resolves once stopped. */
  close(): Promise<void>
  /** Rows waiting and the age of the oldest, read from the table. */
  lag(): Promise<OutboxLag>
  /** Calls `listener` with the ids of each batch once the broker stored it; returns the unsubscribe. */
  onRelayed(listener: (ids: readonly string[]) => void): () => void
}

const MAX_RETRY_DELAY_MS = 5_000

export function createRelay(
  prisma: OutboxClient,
  producer: Producer,
  options: ResolvedOutboxOptions,
  log: Logger,
): OutboxRelay {
  const listeners = new Set<(ids: readonly string[]) => void>()
  let running: Promise<void> | undefined
  let closed = false
  let woken = false
  let wake: (() => void) | undefined
  let failures = 0
  const listener =
    options.listen === undefined
      ? undefined
      : new OutboxListener(options.listen, log, () => {
          woken = true
          wake?.()
        })

  let cancelSleep: (() => void) | undefined
  // Waits `ms`; `close()` ends the wait, and so does a notification when `wakeable` (a failing
  // broker is retried on its own schedule: new rows must not hammer it).
  const sleep = (ms: number, wakeable: boolean): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        cancelSleep = wake = undefined
        resolve()
      }
      const timer = setTimeout(done, ms)
      cancelSleep = done
      wake = wakeable ? done : undefined
      if (closed) done()
    })

  // One batch: lock, store in the broker, delete, commit. Returns how many rows it moved.
  const batch = async (): Promise<number> => {
    let relayed: string[] = []
    await prisma.$transaction(
      async (tx) => {
        const rows = await tx.$queryRawUnsafe<{ record: StoredRecord }[]>(
          CLAIM_SQL,
          options.batchSize,
        )
        if (rows.length === 0) return
        const records: JobRecord[] = rows.map((row) => recordFromRow(row.record))
        await storeInBroker(producer, records, options.enqueueTimeout)
        relayed = records.map((r) => r.id)
        await tx.$executeRawUnsafe(DELETE_SQL, JSON.stringify(relayed))
      },
      { maxWait: 10_000, timeout: options.enqueueTimeout + 10_000 },
    )
    if (relayed.length > 0) {
      log.debug({ jobs: relayed.length }, 'outbox relay: jobs stored in the broker')
      for (const l of listeners) {
        try {
          l(relayed)
        } catch (err) {
          log.error({ err }, 'outbox relay: onRelayed listener failed; ignored')
        }
      }
    }
    return relayed.length
  }

  const loop = async (): Promise<void> => {
    while (!closed) {
      woken = false
      let moved: number
      try {
        moved = await batch()
      } catch (err) {
        failures += 1
        const delay = Math.min(options.pollInterval * 2 ** (failures - 1), MAX_RETRY_DELAY_MS)
        await reportBacklog(err, delay)
        await sleep(delay, false)
        continue
      }
      if (failures > 0) {
        log.info({ failures }, 'outbox relay: moving jobs to the broker again')
        failures = 0
      }
      if (moved === options.batchSize || woken) continue
      await sleep(options.pollInterval, true)
    }
  }

  const reportBacklog = async (err: unknown, retryInMs: number): Promise<void> => {
    const lag = await readLag().catch(() => undefined)
    log.warn(
      { err: outboxError(err, 'outbox relay'), retryInMs, ...lag },
      lag === undefined
        ? 'outbox relay: could not move jobs to the broker; they wait in the outbox'
        : `outbox relay: could not move jobs to the broker; ${lag.waiting} wait in the outbox, the oldest for ${Math.round(lag.oldestMs)} ms`,
    )
  }

  const readLag = (): Promise<OutboxLag> => readOutboxLag(prisma)

  return {
    async start() {
      if (running !== undefined) return
      closed = false
      await listener?.start()
      running = loop()
      log.info(
        { listen: listener !== undefined, pollInterval: options.pollInterval },
        'outbox relay started',
      )
    },
    async close() {
      if (running === undefined) return
      closed = true
      cancelSleep?.()
      await running
      running = undefined
      await listener?.close()
    },
    lag: readLag,
    onRelayed(l) {
      listeners.add(l)
      return () => void listeners.delete(l)
    },
  }
}

/** `producer.enqueue`, given up after `timeoutMs` (the producer then removes what it stored). */
async function storeInBroker(
  producer: Producer,
  records: JobRecord[],
  timeoutMs: number,
): Promise<void> {
  const signal: { aborted: boolean } & GiveUpSignal = { aborted: false }
  let timer: NodeJS.Timeout | undefined
  const gaveUp = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      signal.aborted = true
      reject(
        new Error(`the broker did not confirm ${records.length} job(s) within ${timeoutMs} ms`),
      )
    }, timeoutMs)
  })
  try {
    await Promise.race([producer.enqueue(records, signal), gaveUp])
  } finally {
    clearTimeout(timer)
  }
}

/** Rows waiting in the outbox and the age of the oldest (the database's clock). */
export async function readOutboxLag(prisma: OutboxClient): Promise<OutboxLag> {
  try {
    const [row] = await prisma.$queryRawUnsafe<OutboxLag[]>(LAG_SQL)
    return { waiting: row?.waiting ?? 0, oldestMs: row?.oldestMs ?? 0 }
  } catch (err) {
    throw outboxError(err, 'Could not read the outbox')
  }
}
