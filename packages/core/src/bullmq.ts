// `@afterward/core/bullmq`: the BullMQ driver on its own entry, so that an app on memory() can
// import the root without the driver's modules. `bullmq`, `ioredis` and `pg` themselves load on
// first use in either case.
export { bullmq } from './drivers/bullmq/index.js'
export type { BullmqDriverOptions } from './drivers/bullmq/index.js'
export type { RedisClusterConnection, RedisConnection } from './drivers/bullmq/connection.js'
export { migrateBullmqPostgres } from './drivers/bullmq/postgres-schema.js'
export type { PostgresConnection } from './drivers/bullmq/postgres-schema.js'
