// The Express side of the shared HTTP suite, for Express 5 and (through the `express4` alias) 4.
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import type { Express, NextFunction, Request, Response } from 'express'
import { afterwardMiddleware, deferOptions } from '@afterward/express'
import type { HttpAdapter } from '@afterward/core/conformance'

type ExpressFactory = (() => Express) & {
  json(): (req: Request, res: Response, next: NextFunction) => void
}

export function expressAdapter(name: string, express: ExpressFactory): HttpAdapter {
  return {
    name,
    async serve(afterward, routes, { flush }) {
      const app = express()
      app.use(express.json())
      const middleware = afterwardMiddleware({ afterward, flush })
      app.use(middleware)
      for (const route of routes) {
        // Express 4 does not catch rejected promises: hand them to next() ourselves.
        const handler = (req: Request, res: Response, next: NextFunction): void => {
          Promise.resolve()
            .then(() =>
              route.handle({
                defer: res.defer,
                get requestId() {
                  return res.getHeader('x-request-id') as string | undefined
                },
                body: req.body,
                closed: new Promise<void>((resolve) => res.once('close', resolve)),
              }),
            )
            .then((result) => {
              switch (result.kind) {
                case 'json':
                  return void res.status(result.status ?? 200).json(result.body)
                case 'text':
                  return void res.type('text/plain').send(result.body)
                case 'stream':
                  res.type('text/plain')
                  return void Readable.from(result.chunks).pipe(res)
                case 'redirect':
                  return res.redirect(result.to)
                case 'file':
                  return res.sendFile(result.path)
                case 'empty':
                  return void res.status(result.status).end()
              }
            })
            .catch(next)
        }
        app.post(route.path, deferOptions(route.options ?? {}), handler)
      }
      const server = app.listen(0, '127.0.0.1')
      await once(server, 'listening')
      // close() waits for keep-alive connections that were busy when it started; keep that short.
      server.keepAliveTimeout = 100
      const { port } = server.address() as AddressInfo
      return {
        url: `http://127.0.0.1:${port}`,
        stats: () => middleware.stats,
        async close() {
          const closed = new Promise<void>((resolve, reject) =>
            server.close((err) => (err ? reject(err) : resolve())),
          )
          server.closeIdleConnections()
          await closed
          await afterward.close()
        },
      }
    },
  }
}
