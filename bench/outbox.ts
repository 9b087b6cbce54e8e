// Transactional enqueue latency: from a transaction's commit (prisma.$transaction resolved) to
// its job stored in the broker by the relay (woken by LISTEN/NOTIFY), on a private redis-server
// and a PostgreSQL database of its own. Transactions run one at a time, each writing an order
// and deferring its job; the relay runs in the same process, as it does inside a worker.
//   pnpm build && TSX_TSCONFIG_PATH=bench/tsconfig.run.json pnpm exec tsx bench/outbox.ts
//   BENCH_RUNS=20 for a smoke run
import { pino } from 'pino'
import { bullmq, createAfterward, defineTask } from '@afterward/core'
import { prismaOutbox } from '@afterward/prisma'
import { createOutboxDatabase } from '../test/support/outbox.js'
import { createPrisma } from '../test/support/pg.js'
import { startRedisServer } from '../test/support/redis.js'
import { percentile, median, table } from './stats.js'

const runs = Number(process.env.BENCH_RUNS ?? 1_000)
const warmup = Math.min(50, runs)

const redis = await startRedisServer()
const db = await createOutboxDatabase()
const prisma = createPrisma(db.url, { applicationName: 'aw-bench-outbox', max: 4 })
const sendReceipt = defineTask({ name: 'send-receipt', run: (_input: { orderId: number }) => {} })
const logger = pino({ level: 'silent' })
const outbox = prismaOutbox(prisma, { listen: db.url })
const driver = bullmq({ connection: redis.url, prefix: 'bench-outbox' })
const afterward = createAfterward({ tasks: [sendReceipt], driver: outbox.driver(driver), logger })
const relay = outbox.relay(driver, { logger })

// When each job reached the broker, by id.
const stored = new Map<string, number>()
const waiting = new Map<string, () => void>()
relay.onRelayed((ids) => {
  const now = performance.now()
  for (const id of ids) {
    stored.set(id, now)
    waiting.get(id)?.()
  }
})
await relay.start()

async function once(): Promise<number> {
  const id = await prisma.$transaction(async (tx) => {
    const order = await tx.order.create({ data: { userId: 1, total: 1 } })
    return (await afterward.deferIn(tx, sendReceipt, { orderId: order.id })).id
  })
  const committed = performance.now()
  if (!stored.has(id)) await new Promise<void>((resolve) => waiting.set(id, resolve))
  waiting.delete(id)
  return stored.get(id)! - committed
}

for (let i = 0; i < warmup; i++) await once()
const latencies: number[] = []
for (let i = 0; i < runs; i++) latencies.push(await once())

console.log(
  `\nTransactional enqueue: commit to stored in the broker (${runs} transactions, one at a time)`,
)
table(
  ['relay', 'p50', 'p99', 'max'],
  [
    [
      'LISTEN/NOTIFY, in process',
      `${median(latencies).toFixed(1)} ms`,
      `${percentile(latencies, 99).toFixed(1)} ms`,
      `${Math.max(...latencies).toFixed(1)} ms`,
    ],
  ],
)

await relay.close()
await afterward.close()
await prisma.$disconnect()
await db.drop()
await redis.stop()
