// Writes job records into the outbox inside the caller's Prisma interactive transaction.
import { AfterwardEnqueueError, AfterwardError, ErrorCode, type Producer } from '@afterward/core'
import { INSERT_SQL, outboxError } from './outbox-rows.js'

/**
 * The part of a Prisma transaction client that `deferIn` writes through: the `tx` of
 * `prisma.$transaction(async (tx) => ...)`.
 *
 * @example
 * await prisma.$transaction((tx: PrismaTransactionLike) => afterward.deferIn(tx, task, input))
 */
export interface PrismaTransactionLike {
  $executeRawUnsafe(query: string, ...values: unknown[]): PromiseLike<number>
}

/**
 * A producer that inserts records into the outbox through `tx`, in one statement. Throws
 * `AFTERWARD_CONFIG_INVALID` at once when `tx` is not a Prisma transaction client: the client
 * itself would commit the row on its own, so the job could outlive a rolled-back transaction.
 */
export function transactionProducer(tx: unknown): Producer {
  const client = tx as Partial<PrismaTransactionLike & { $disconnect: unknown }> | null
  if (
    typeof client !== 'object' ||
    client === null ||
    typeof client.$executeRawUnsafe !== 'function'
  ) {
    throw notATransaction('it is not a Prisma client')
  }
  if (typeof client.$disconnect === 'function') {
    throw notATransaction(
      'it is the Prisma client itself, whose writes commit on their own, so the job would exist even if your transaction rolled back',
    )
  }
  const write = client.$executeRawUnsafe.bind(client)
  return {
    async enqueue(records) {
      try {
        await write(INSERT_SQL, JSON.stringify(records))
      } catch (err) {
        const named = outboxError(err, 'Could not write the jobs to the outbox')
        if (named !== err) throw named
        throw new AfterwardEnqueueError(
          `Could not write ${records.length} job(s) to the outbox in your transaction: ${err instanceof Error ? err.message.trim() : String(err)}. Await deferIn inside the transaction callback, while the transaction is open.`,
          { cause: err },
        )
      }
      return records.map((record) => ({ id: record.id, deduplicated: false }))
    },
  }
}

function notATransaction(why: string): AfterwardError {
  return new AfterwardError(
    ErrorCode.CONFIG_INVALID,
    `deferIn(tx, ...) needs the transaction client of an interactive transaction, and ${why}: call it as prisma.$transaction(async (tx) => { ...; await afterward.deferIn(tx, task, input) }).`,
  )
}
