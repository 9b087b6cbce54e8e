import type { AddressInfo } from 'node:net'
import type { StartApp } from '@afterward/example-shared'
import { buildApp } from './app.js'

/** Builds the app and listens on `port` (0: any free port) on 127.0.0.1. */
export const startApp: StartApp = async (services, { port, logger }) => {
  const app = buildApp(services)
  const server = app.listen(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve)
    server.once('error', reject)
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  logger.info({ url }, 'Express app listening')
  return {
    url,
    close: () =>
      new Promise<void>((resolve, reject) =>
        server.close((err) => (err ? reject(err) : resolve())),
      ),
  }
}
