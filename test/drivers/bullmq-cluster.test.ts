// bullmq({ cluster }): the shared driver suite, the hash-tag rule for the prefix, the request
// index and fail-fast enqueues, on private Redis Clusters (the shared Redis is never touched).
import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { AfterwardError, defineTask, type Driver } from '@afterward/core'
import { bullmq } from '@afterward/core/bullmq'
import { driverConformance } from '@afterward/core/conformance'
import { instance, jobRecord, thrown } from '../support/afterward.js'
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js'
import { freePort, uniqueQueueName } from '../support/redis.js'

let cluster: RedisCluster | undefined
beforeAll(async () => {
  cluster = await startRedisCluster()
})
afterAll(async () => {
  await cluster?.stop()
})

const running = (): RedisCluster => {
  if (!cluster) throw new Error('the Redis Cluster did not start (see beforeAll)')
  return cluster
}

// One startup node given as a URL: the driver discovers the other two. A hash-tagged prefix
// per driver keeps every test's keys apart.
driverConformance({
  name: 'bullmq on Redis Cluster',
  makeDriver: () =>
    bullmq({ cluster: { nodes: [running().urls[0]!] }, prefix: `{${uniqueQueueName('aw')}}` }),
})

const noop = defineTask({ name: 'noop', run: () => undefined })

describe('bullmq({ cluster }) options', () => {
  it.each(['afterward', 'my{}app', 'my{app', 'app}{x'])(
    "refuses prefix '%s', which has no hash tag, up front",
    (prefix) => {
      const error = thrown(() => bullmq({ cluster: { nodes: running().nodes }, prefix }))
      expect(error).toBeInstanceOf(AfterwardError)
      expect((error as AfterwardError).code).toBe('AFTERWARD_CONFIG_INVALID')
      expect((error as Error).message).toMatch(/must contain a hash tag, such as '\{[a-z]+\}'/)
      expect((error as Error).message).toContain(`got '${prefix}'`)
    },
  )

  it.each(['{myapp}', 'shop:{jobs}', 'a{b}c'])("accepts prefix '%s'", async (prefix) => {
    const driver = bullmq({ cluster: { nodes: running().nodes }, prefix })
    await driver.close()
  })

  it('takes exactly one broker and at least one startup node', () => {
    const code = (fn: () => unknown): unknown => (thrown(fn) as AfterwardError | undefined)?.code
    const nodes = running().nodes
    expect(code(() => bullmq({ connection: 'redis://127.0.0.1:6379', cluster: { nodes } }))).toBe(
      'AFTERWARD_CONFIG_INVALID',
    )
    expect(thrown(() => bullmq({ cluster: { nodes }, postgres: 'postgres://x' }))).toMatchObject({
      message: expect.stringMatching(/exactly one of .* not `cluster` and `postgres`/),
    })
    expect(thrown(() => bullmq({ cluster: { nodes: [] } }))).toMatchObject({
      code: 'AFTERWARD_CONFIG_INVALID',
      message: expect.stringMatching(/cluster\.nodes/),
    })
  })
})

describe('bullmq({ cluster }) keys', () => {
  it("defaults to the prefix '{afterward}': every key it writes is in that tag's slot", async () => {
    const { cli, keys } = running()
    const queue = uniqueQueueName('slot')
    const requestId = randomUUID()
    const afterward = instance({
      tasks: [noop],
      driver: bullmq({ cluster: { nodes: running().nodes } }),
    })
    await afterward.worker({ queues: [queue] }).start()
    const scope = afterward.scope({ requestId })
    const now = scope.defer(noop, undefined, { queue })
    scope.defer(noop, undefined, { queue, delay: 60_000 })
    await scope.flush()
    expect((await afterward.jobs.wait(now.id)).state).toBe('completed')

    const perNode = await keys('{afterward}:*')
    const holders = [...perNode].filter(([, found]) => found.length > 0)
    expect(holders).toHaveLength(1) // one slot, so one node
    const [port, found] = holders[0]!
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^\{afterward\}:afterward:requests:\d+$/),
        '{afterward}:afterward:queues',
        `{afterward}:${queue}:completed`,
        `{afterward}:${queue}:delayed`,
        `{afterward}:${queue}:${now.id}`,
      ]),
    )
    const slot = await cli(port, 'CLUSTER', 'KEYSLOT', 'afterward')
    const slots = await Promise.all(found.map((key) => cli(port, 'CLUSTER', 'KEYSLOT', key)))
    expect(new Set(slots)).toEqual(new Set([slot]))
  })

  it('jobs.byRequest finds the jobs of several requests stored in one enqueue', async () => {
    const driver: Driver = bullmq({ cluster: { nodes: running().nodes } })
    const afterward = instance({ tasks: [noop], driver })
    const [first, second] = [randomUUID(), randomUUID()]
    const [mails, images] = [uniqueQueueName('mails'), uniqueQueueName('images')]
    const record = (requestId: string, queue: string) => jobRecord('noop', { requestId, queue })
    const [mail, image, other] = [
      record(first, mails),
      record(first, images),
      record(second, images),
    ] as const
    // One call, jobs in two queues and index entries of two requests: it works because the hash
    // tag puts every key in one slot (without it, ioredis refuses cross-slot commands).
    await driver.enqueue([mail, image, other])

    const ofFirst = await afterward.jobs.byRequest(first)
    expect(ofFirst.map((j) => [j.id, j.queue, j.state, j.requestId])).toEqual(
      expect.arrayContaining([
        [mail.id, mails, 'waiting', first],
        [image.id, images, 'waiting', first],
      ]),
    )
    expect(ofFirst).toHaveLength(2)
    expect((await afterward.jobs.byRequest(second)).map((j) => j.id)).toEqual([other.id])
    expect(await afterward.jobs.byRequest(randomUUID())).toEqual([])
    expect((await afterward.jobs.get(other.id))?.queue).toBe(images)
  })
})

describe('bullmq({ cluster }) when the cluster is down', () => {
  it('fails an enqueue, bounded by enqueueTimeout, when no node answers', async () => {
    const port = await freePort()
    const afterward = instance({
      tasks: [noop],
      driver: bullmq({ cluster: { nodes: [{ host: '127.0.0.1', port }] } }),
      enqueueTimeout: 500,
    })
    await expect(afterward.enqueue(noop)).rejects.toMatchObject({
      code: 'AFTERWARD_ENQUEUE_FAILED',
      message: expect.stringMatching(/Check that it is reachable/),
    })
  })

  it('fails an enqueue, bounded by enqueueTimeout, once the cluster has gone down', async () => {
    const own = await startRedisCluster()
    onTestFinished(() => own.stop())
    const afterward = instance({
      tasks: [noop],
      driver: bullmq({ cluster: { nodes: own.nodes } }),
      enqueueTimeout: 500,
    })
    const before = await afterward.enqueue(noop)
    expect((await afterward.jobs.get(before.id))?.state).toBe('waiting')
    await own.stop()
    await expect(afterward.enqueue(noop)).rejects.toMatchObject({
      code: 'AFTERWARD_ENQUEUE_FAILED',
      message: expect.stringMatching(/Check that it is reachable/),
    })
  })
})
