import type { StartApp } from '@afterward/example-shared'
import { buildApp } from './app.js'

/** Builds the app and listens on `port` (0: any free port) on 127.0.0.1. */
export const startApp: StartApp = async (services, { port, logger }) => {
  const app = await buildApp(services, logger)
  await app.listen({ port, host: '127.0.0.1' })
  const address = app.server.address()
  const actualPort = typeof address === 'object' && address !== null ? address.port : port
  return { url: `http://127.0.0.1:${actualPort}`, close: () => app.close() }
}
