export { prismaContext } from './prisma-context.js'
export type { PrismaContextOptions } from './options.js'
export type {
  PrismaClientLike,
  PrismaFactory,
  PrismaFactoryInfo,
  PrismaTransactionOptions,
  TransactionClient,
} from './types.js'
export { prismaOutbox } from './outbox.js'
export type { OutboxRelayOptions, PrismaOutbox } from './outbox.js'
export type { OutboxClient, OutboxTransaction, PrismaOutboxOptions } from './outbox-options.js'
export type { OutboxLag, OutboxRelay } from './outbox-relay.js'
export type { PrismaTransactionLike } from './outbox-producer.js'
