import type { IncomingMessage } from 'node:http'

/** The most a dashboard form (a CSRF token) needs; longer bodies are refused unread. */
export const FORM_LIMIT = 16 * 1024

/**
 * Reads a request body as text for the Express and standalone entries, which see Node's
 * request. Resolves with `''` past `FORM_LIMIT` bytes (the form then lacks its CSRF token and
 * is refused) and stops reading.
 */
export function readText(req: IncomingMessage): Promise<string> {
  // Already read by a body parser that did not keep it: there is nothing left to read.
  if (req.readableEnded) return Promise.resolve('')
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > FORM_LIMIT) {
        req.removeAllListeners('data')
        req.resume()
        resolve('')
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    // A client that went away mid-body: nothing to act on (a settled promise ignores this).
    req.on('close', () => resolve(''))
    req.on('error', reject)
  })
}
