// Fastify's default request ids repeat across processes; the plugin says so once.
import { randomUUID } from 'node:crypto'
import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { defineTask, memory } from '@afterward/core'
import afterwardPlugin from '@afterward/fastify'
import { instance } from '../../../test/support/afterward.js'

const task = defineTask({ name: 'noop', run: () => undefined })

async function warningsWith(genReqId?: () => string): Promise<string[]> {
  const lines: string[] = []
  const app = Fastify({
    ...(genReqId ? { genReqId } : {}),
    logger: { level: 'warn', stream: { write: (line: string) => void lines.push(line) } },
  })
  await app.register(afterwardPlugin, { afterward: instance({ tasks: [task], driver: memory() }) })
  app.post('/', async (_req, reply) => reply.defer(task))
  for (let i = 0; i < 3; i++)
    expect((await app.inject({ method: 'POST', url: '/' })).statusCode).toBe(200)
  await app.close()
  return lines.filter((line) => line.includes('genReqId'))
}

describe('request ids', () => {
  it("warns once when Fastify's default ids are in use", async () => {
    expect(await warningsWith()).toHaveLength(1)
  })

  it('stays quiet with unique ids', async () => {
    expect(await warningsWith(() => randomUUID())).toEqual([])
  })
})
