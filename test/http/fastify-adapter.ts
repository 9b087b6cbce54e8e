// The Fastify side of the shared HTTP suite.
import { createReadStream } from 'node:fs'
import { Readable } from 'node:stream'
import Fastify from 'fastify'
import afterwardPlugin from '@afterward/fastify'
import type { HttpAdapter } from '@afterward/core/conformance'

export const fastifyAdapter: HttpAdapter = {
  name: 'fastify',
  async serve(afterward, routes, { flush, logger }) {
    const app = Fastify({
      // Fastify's defaults for request ids: the plugin reads X-Request-Id itself.
      loggerInstance: logger,
      // close() waits for keep-alive connections that were busy when it started; keep that short.
      keepAliveTimeout: 100,
    })
    await app.register(afterwardPlugin, { afterward, flush })
    for (const route of routes) {
      app.post(route.path, { config: { defer: route.options } }, async (request, reply) => {
        const closed = new Promise<void>((resolve) => reply.raw.once('close', resolve))
        const result = await route.handle({
          defer: (task, ...args) => reply.defer(task, ...args),
          get requestId() {
            return reply.getHeader('x-request-id') as string | undefined
          },
          body: request.body,
          closed,
        })
        switch (result.kind) {
          case 'json':
            return reply.code(result.status ?? 200).send(result.body)
          case 'text':
            return reply.type('text/plain').send(result.body)
          case 'stream':
            return reply.type('text/plain').send(Readable.from(result.chunks))
          case 'redirect':
            return reply.redirect(result.to)
          case 'file':
            return reply.type('text/plain').send(createReadStream(result.path))
          case 'empty':
            return reply.code(result.status).send()
        }
      })
    }
    await app.listen({ port: 0, host: '127.0.0.1' })
    const address = app.server.address()
    if (address === null || typeof address === 'string') throw new Error('no port')
    return {
      url: `http://127.0.0.1:${address.port}`,
      stats: () => app.afterwardStats,
      close: () => app.close(),
    }
  },
}
