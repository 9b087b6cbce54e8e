// The demo's output: what each step did, and checks that decide the exit code.
import type { JobInfo } from '@afterward/core'
import type { Exchange } from './http.js'

/** Collects the lines and check results of a demo run. */
export class Report {
  readonly lines: string[] = []
  passed = 0
  failed = 0

  /** A numbered request line: `2. POST /orders → 201 in 12 ms (request 7c1f…)`. */
  request(step: number, exchange: Exchange, note: string): void {
    const id = exchange.requestId.slice(0, 8)
    this.lines.push(
      '',
      `${step}. ${exchange.method} ${exchange.path} → ${exchange.status} in ${exchange.ms} ms (request ${id}…): ${note}`,
    )
  }

  /** A numbered step that is not a request: `6. schedule send-daily-digest:daily …`. */
  step(step: number, note: string): void {
    this.lines.push('', `${step}. ${note}`)
  }

  /** A job line: task, state, attempts and the last error. */
  job(job: JobInfo | undefined, id?: string): void {
    if (job === undefined) {
      this.lines.push(`   job ${id ?? '?'}: not stored`)
      return
    }
    const attempts = `${job.attemptsMade} attempt${job.attemptsMade === 1 ? '' : 's'}`
    const error = job.lastError ? ` (last error: ${job.lastError.message})` : ''
    const ms = job.finishedAt
      ? ` ${job.finishedAt.getTime() - job.createdAt.getTime()} ms after enqueue`
      : ''
    this.lines.push(`   ${job.task.padEnd(24)} ${job.state} after ${attempts},${ms}${error}`)
  }

  /** A check: counts towards the exit code. */
  check(ok: boolean, text: string): void {
    if (ok) this.passed += 1
    else this.failed += 1
    this.lines.push(`   ${ok ? '✓' : '✗'} ${text}`)
  }

  note(text: string): void {
    this.lines.push(`   ${text}`)
  }

  toString(): string {
    return this.lines.join('\n')
  }
}
