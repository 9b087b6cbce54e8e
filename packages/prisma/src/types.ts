// Prisma, typed structurally: any Prisma 7 client (generated, extended with `$extends`, or a
// test double of the same shape) fits without this package importing `@prisma/client`.

/**
 * Options of an interactive transaction, as `prisma.$transaction(fn, options)` takes them.
 *
 * @example
 * prismaContext(prisma, { transaction: true, transactionOptions: { isolationLevel: 'Serializable' } })
 */
export interface PrismaTransactionOptions {
  /**
   * Longest wait for a connection to start the transaction on, in ms.
   * @defaultValue in `prismaContext`, the time left until the task's deadline, or 10_000
   */
  maxWait?: number
  /**
   * Longest time the transaction may stay open, in ms; Prisma rolls it back after that.
   * @defaultValue in `prismaContext`, the time left until the task's deadline + 5_000, or 5 minutes
   */
  timeout?: number
  /** Such as `'Serializable'` (Prisma's `TransactionIsolationLevel`). @defaultValue the database's own */
  isolationLevel?: string
}

/**
 * The part of a Prisma client that `prismaContext` uses.
 *
 * @example
 * const client: PrismaClientLike = new PrismaClient({ adapter })
 */
export interface PrismaClientLike {
  $transaction<R>(
    fn: (tx: unknown) => Promise<R>,
    options?: PrismaTransactionOptions,
  ): PromiseLike<R>
  $executeRawUnsafe(query: string, ...values: unknown[]): PromiseLike<number>
  $disconnect(): PromiseLike<void>
}

/**
 * What a task's `ctx.db` is with `transaction: true`: the client inside an interactive
 * transaction, as Prisma's own `Prisma.TransactionClient` (no `$connect`, `$disconnect`, `$on`,
 * `$use`, `$extends`; `$transaction` opens a savepoint).
 *
 * @example
 * async run(input, ctx) { await ctx.db.note.create({ data }) } // ctx.db: TransactionClient<PrismaClient>
 */
export type TransactionClient<C> = Omit<C, '$connect' | '$disconnect' | '$on' | '$use' | '$extends'>

/**
 * What a client factory learns from the worker.
 *
 * @example
 * prismaContext(({ poolSize }) => new PrismaClient({ adapter: new PrismaPg({ connectionString, max: poolSize }) }))
 */
export interface PrismaFactoryInfo {
  /** Connections the client's pool should hold: pass it as `max` to `PrismaPg`. */
  poolSize: number
}

/**
 * Builds the worker's client once, in `setup`, with a pool sized for the worker's concurrency.
 *
 * @example
 * const factory: PrismaFactory<PrismaClient> = ({ poolSize }) =>
 *   new PrismaClient({ adapter: new PrismaPg({ connectionString, max: poolSize }) })
 */
export type PrismaFactory<C extends PrismaClientLike> = (info: PrismaFactoryInfo) => C
