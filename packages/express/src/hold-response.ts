import type { ServerResponse } from 'node:http'

const OUTPUT = ['writeHead', 'flushHeaders', 'write', 'end'] as const
type Output = (typeof OUTPUT)[number]
type Method = (...args: unknown[]) => unknown

/**
 * Makes `gate(statusCode)` run at the response's first output (status line, headers or body
 * byte, whichever `res.json`, `res.send`, `res.redirect`, `res.sendFile`, a piped stream or a
 * bare `res.end` produces first). When it returns a promise, every output call is held until it
 * settles, then replayed in order; when that promise rejects, `fail` answers instead and the held
 * and later output is dropped. Node writes headers only through these four methods.
 */
export function holdResponse(
  res: ServerResponse,
  gate: (statusCode: number) => Promise<void> | undefined,
  fail: (send: (status: number, headers: Record<string, string>, body: string) => void) => void,
): void {
  const target = res as unknown as Record<Output, Method>
  const originals = Object.fromEntries(OUTPUT.map((m) => [m, target[m]])) as Record<Output, Method>
  let held: [Output, unknown[]][] | undefined
  const restore = (): void => {
    for (const m of OUTPUT) target[m] = originals[m]
  }
  const result = (m: Output): unknown =>
    m === 'write' ? true : m === 'flushHeaders' ? undefined : res

  for (const m of OUTPUT) {
    target[m] = function held_(...args: unknown[]): unknown {
      if (held) {
        held.push([m, args])
        return result(m)
      }
      const status = m === 'writeHead' && typeof args[0] === 'number' ? args[0] : res.statusCode
      const pending = gate(status)
      if (pending === undefined) {
        restore()
        return originals[m].apply(res, args)
      }
      const calls: [Output, unknown[]][] = [[m, args]]
      held = calls
      pending.then(
        () => {
          restore()
          for (const [method, callArgs] of calls) originals[method].apply(res, callArgs)
        },
        () => {
          restore()
          target.write = () => true
          target.end = () => res
          if (res.headersSent) {
            res.destroy()
            return
          }
          for (const name of res.getHeaderNames()) {
            if (name !== 'x-request-id') res.removeHeader(name)
          }
          fail((status, headers, body) => {
            originals.writeHead.call(res, status, headers)
            originals.end.call(res, body)
          })
        },
      )
      return result(m)
    }
  }
}
