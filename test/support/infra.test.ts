// The test support code itself: if these fail, integration failures elsewhere mean nothing.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  connectionsOf,
  createPrisma,
  createTestDatabase,
  type PrismaClient,
  type TestDatabase,
} from './pg.js'
import { freePort, pingRedis, startRedisServer, uniqueQueueName } from './redis.js'

describe('createTestDatabase', () => {
  let db: TestDatabase
  let prisma: PrismaClient
  const applicationName = uniqueQueueName('infra-test')

  beforeAll(async () => {
    db = await createTestDatabase()
    prisma = createPrisma(db.url, { applicationName, max: 2 })
  })

  afterAll(async () => {
    await prisma.$disconnect()
    await db.drop()
  })

  it('creates a database with the migrated tables', async () => {
    expect(db.name).toMatch(/^aw_[0-9a-f]+$/)
    const client = new pg.Client({ connectionString: db.url })
    await client.connect()
    try {
      const { rows } = await client.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
      )
      expect(rows.map((row) => row.table_name)).toEqual(['Note', 'Order', 'User'])
    } finally {
      await client.end()
    }
  })

  it('gives a Prisma client that writes and reads', async () => {
    const created = await prisma.user.create({ data: { email: 'ada@example.com', name: 'Ada' } })
    const found = await prisma.user.findUniqueOrThrow({ where: { email: 'ada@example.com' } })
    expect(found).toEqual(created)
    expect(found.createdAt).toBeInstanceOf(Date)
    await expect(prisma.user.create({ data: { email: 'ada@example.com' } })).rejects.toThrow()
  })

  it("sees the client's connections by application_name", async () => {
    await prisma.note.create({ data: { jobId: 'job-1', body: 'hello' } })
    const connections = await connectionsOf(applicationName)
    expect(connections.length).toBeGreaterThanOrEqual(1)
    expect(connections.length).toBeLessThanOrEqual(2)
    for (const connection of connections) {
      expect(connection.pid).toEqual(expect.any(Number))
      expect(connection.state).toBe('idle')
    }
    await prisma.$disconnect()
    await expect.poll(() => connectionsOf(applicationName)).toEqual([])
  })

  it('drops the database even while connections are open', async () => {
    const other = await createTestDatabase()
    const open = new pg.Client({ connectionString: other.url })
    open.on('error', () => {}) // the drop terminates this connection
    await open.connect()
    await other.drop()
    await open.end().catch(() => {})
    const client = new pg.Client({ connectionString: db.url })
    await client.connect()
    try {
      const { rows } = await client.query<{ exists: boolean }>(
        'SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)',
        [other.name],
      )
      expect(rows[0]?.exists).toBe(false)
    } finally {
      await client.end()
    }
  })
})

describe('startRedisServer', () => {
  it('starts a private server that answers PING, restarts and stops', async () => {
    const redis = await startRedisServer()
    try {
      expect(redis.port).not.toBe(6379)
      expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`)
      expect(await pingRedis(redis.port)).toBe(true)
      await redis.restart()
      expect(await pingRedis(redis.port)).toBe(true)
    } finally {
      await redis.stop()
    }
    expect(await pingRedis(redis.port)).toBe(false)
    await redis.stop() // idempotent
  })

  it('freePort() returns a port with nothing listening', async () => {
    const port = await freePort()
    expect(await pingRedis(port)).toBe(false)
  })

  it('uniqueQueueName() never repeats', () => {
    const names = new Set(Array.from({ length: 100 }, () => uniqueQueueName('q')))
    expect(names.size).toBe(100)
    expect([...names][0]).toMatch(/^q-[0-9a-f]{12}$/)
  })
})
