// A port to point a driver at when the test needs a broker that is not there.
import { createServer } from 'node:net'

/** A TCP port on 127.0.0.1 with nothing listening on it (at the time of the call). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      if (address === null || typeof address === 'string') {
        server.close()
        reject(new Error('could not read the ephemeral port'))
        return
      }
      server.close(() => resolve(address.port))
    })
  })
}
