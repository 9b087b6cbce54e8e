export { prismaContext } from './prisma-context.js'
export type { PrismaContextOptions } from './options.js'
export type {
  PrismaClientLike,
  PrismaFactory,
  PrismaFactoryInfo,
  PrismaTransactionOptions,
  TransactionClient,
} from './types.js'
