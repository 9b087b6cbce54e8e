// Jobs for the dashboard tests: a task that fails (with an error and input worth escaping), one
// that succeeds, and helpers to read what a page shows.
import { Writable } from 'node:stream'
import { pino, type Logger } from 'pino'
import { defineTask, type Afterward, type Driver } from '@afterward/core'
import { instance } from '../../../test/support/afterward.js'

/** Fails until `failing.fixed` is set, with a message that holds markup. */
export const failing = { fixed: false }
export const flaky = defineTask({
  name: 'send-welcome-email',
  async run(input: { to: string; note: string; password?: string }) {
    if (!failing.fixed) throw new Error(`mail server said no to ${input.to}: ${input.note}`)
  },
})
export const ok = defineTask({
  name: 'update-crm',
  run: async (_input: { n: number }) => undefined,
})

/** An instance on `driver` with both tasks, closed after the test. */
export function afterwardOn(driver: Driver, logger?: Logger): Afterward {
  return instance({ tasks: [flaky, ok], driver, ...(logger ? { logger } : {}) })
}

/** Defers jobs in one request scope and stores them; resolves with their ids. */
export async function request(
  afterward: Afterward,
  requestId: string,
  jobs: Array<['flaky', Parameters<typeof flaky.run>[0]] | ['ok', { n: number }]>,
): Promise<string[]> {
  const scope = afterward.scope({ requestId })
  const ids = jobs.map(([task, input]) =>
    task === 'flaky' ? scope.defer(flaky, input).id : scope.defer(ok, input as { n: number }).id,
  )
  await scope.flush()
  return ids
}

/** Runs a worker until every job in `ids` completed or failed for good, then closes it. */
export async function runUntilSettled(afterward: Afterward, ids: readonly string[]): Promise<void> {
  const worker = afterward.worker({ concurrency: 4 })
  await worker.start()
  try {
    await Promise.all(ids.map((id) => afterward.jobs.wait(id, { timeout: 20_000 })))
  } finally {
    await worker.close()
  }
}

/** A pino logger whose lines are kept, for tests that check what was logged. */
export function capturingLogger(): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'))
      done()
    },
  })
  return {
    logger: pino({ level: 'warn' }, stream),
    lines: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  }
}

/** The CSRF token and cookie a page hands a browser. */
export async function formSession(
  url: string,
  headers: Record<string, string>,
): Promise<{ token: string; cookie: string }> {
  const res = await fetch(url, { headers })
  const html = await res.text()
  const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1]
  const setCookie = res.headers.get('set-cookie')
  if (!token || !setCookie) throw new Error(`no form token on ${url} (${res.status})`)
  return { token, cookie: setCookie.split(';')[0]! }
}
