// The afterward binary on memory(), through an app's config file (fixtures/memory): what a
// user reads, what a script parses, and the exit codes.
import { join } from 'node:path'
import { stripVTControlCharacters } from 'node:util'
import { describe, expect, it } from 'vitest'
import { afterward, fixtures, json } from './run-cli.js'

const app = { cwd: join(fixtures, 'memory') }

describe.concurrent(
  'afterward CLI on memory(), with afterward.config.ts found in the working directory',
  () => {
    it("request: a table of the request's jobs, oldest first, with state, attempts and the last error", async () => {
      const result = await afterward(['request', 'req-signup'], app)
      expect(result).toMatchObject({ code: 0, stderr: '' })
      const lines = result.stdout.trim().split('\n')
      expect(lines[0]).toBe('Request req-signup: 2 jobs: 1 completed, 1 failed')
      expect(lines[2]).toMatch(
        /^JOB\s+TASK\s+STATE\s+ATTEMPTS\s+ENQUEUED\s+STARTED\s+FINISHED\s+WAITED\s+RAN\s+LAST ERROR$/,
      )
      expect(lines[3]).toMatch(
        /^job-signup\s+signup\s+completed\s+1\/1\s+\d+ms ago\s+\d+ms ago\s+\d+ms ago\s+\d+ms\s+\d+ms$/,
      )
      expect(lines[4]).toMatch(
        /^job-charge\s+charge\s+failed\s+1\/1\s.*\[AFTERWARD_PERMANENT\] card declined for 500 cents$/,
      )
      // Aligned: every column starts at the same offset on every line.
      const column = (line: string, header: string): string => line.slice(lines[2]!.indexOf(header))
      expect(column(lines[3]!, 'TASK')).toMatch(/^signup /)
      expect(column(lines[4]!, 'STATE')).toMatch(/^failed /)
      expect(column(lines[4]!, 'LAST ERROR')).toMatch(/^\[AFTERWARD_PERMANENT\]/)
      // Piped (not a terminal) and NO_COLOR: no escape codes.
      expect(result.stdout).not.toContain('\u001b[')
      // --color forces it: the failed state in red, the header dimmed, the columns still aligned.
      const colored = await afterward(['request', 'req-signup', '--color'], app)
      expect(colored.stdout).toContain('\u001b[31mfailed\u001b[39m')
      expect(colored.stdout).toContain('\u001b[2mJOB\u001b[22m')
      const plain = stripVTControlCharacters(colored.stdout).trim().split('\n')
      expect(plain[4]!.slice(plain[2]!.indexOf('STATE'))).toMatch(/^failed {5}1\/1 /)
    })

    it('request --json: the jobs with ISO times and the redacted input; --absolute prints ISO times', async () => {
      const result = await afterward(['request', 'req-signup', '--json'], app)
      expect(result.code).toBe(0)
      const body = json<{ requestId: string; jobs: Record<string, unknown>[] }>(result)
      expect(body.requestId).toBe('req-signup')
      expect(body.jobs.map((j) => [j['id'], j['state']])).toEqual([
        ['job-signup', 'completed'],
        ['job-charge', 'failed'],
      ])
      expect(body.jobs[0]).toMatchObject({
        task: 'signup',
        input: { email: 'ada@example.com', password: '[redacted]' },
        requestId: 'req-signup',
        attemptsMade: 1,
        lastError: null,
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
      })
      expect(body.jobs[1]).toMatchObject({
        lastError: { code: 'AFTERWARD_PERMANENT', message: 'card declined for 500 cents' },
      })
      const absolute = await afterward(['request', 'req-signup', '--absolute'], app)
      expect(absolute.stdout).toMatch(
        /job-signup\s+signup\s+completed\s+1\/1\s+\d{4}-\d\d-\d\dT[\d:.]+Z\s/,
      )
    })

    it('request of an unknown id: exit 1 and a message on stderr; with --json, no jobs', async () => {
      const result = await afterward(['request', 'req-nope'], app)
      expect(result).toMatchObject({ code: 1, stdout: '' })
      expect(result.stderr).toMatch(/^No jobs for request 'req-nope'/)
      const scripted = await afterward(['request', 'req-nope', '--json'], app)
      expect(scripted.code).toBe(1)
      expect(json(scripted)).toEqual({ requestId: 'req-nope', jobs: [] })
    })

    it('job: input (redacted), timings, and each failed attempt with its code, message and stack', async () => {
      const result = await afterward(['job', 'job-charge'], app)
      expect(result.code).toBe(0)
      expect(result.stdout).toMatch(
        /^Job\s+job-charge\nTask\s+charge\nQueue\s+default\nState\s+failed\nRequest\s+req-signup\n/,
      )
      expect(result.stdout).toMatch(/\nEnqueued\s+\d{4}-\d\d-\d\dT[\d:.]+Z \(\d+ms ago\)\n/)
      expect(result.stdout).toContain('Input\n  {\n    "cents": 500\n  }')
      expect(result.stdout).toContain(
        'Errors (1)\n  #1 [AFTERWARD_PERMANENT] card declined for 500 cents\n',
      )
      expect(result.stdout).toMatch(/\n {5}at .*afterward\.config\.ts:\d+:\d+\)/)
      const signup = json<{ input: unknown; errors: unknown[] }>(
        await afterward(['job', 'job-signup', '--json'], app),
      )
      expect(signup).toMatchObject({ input: { password: '[redacted]' }, errors: [] })
      const missing = await afterward(['job', 'nope'], app)
      expect(missing).toMatchObject({ code: 1, stdout: '' })
      expect(missing.stderr).toContain("No job with id 'nope'")
    })

    it('list: newest first, filtered by state, task, queue and since; nothing found exits 1', async () => {
      const failed = json<{ jobs: { id: string }[]; next: unknown }>(
        await afterward(['list', '--state', 'failed', '--json'], app),
      )
      expect(failed.jobs.map((j) => j.id).sort()).toEqual(['job-charge', 'job-charge-2'])
      expect(failed.next).toBeNull()
      const table = await afterward(['list', '--queue', 'reports', '--since', '1h'], app)
      expect(table.code).toBe(0)
      expect(table.stdout).toMatch(
        /^JOB\s+TASK\s+QUEUE\s+STATE\s+ATTEMPTS\s+ENQUEUED\s+REQUEST\s+LAST ERROR\njob-report\s+report\s+reports\s+waiting\s+0\/1\s/,
      )
      const paged = json<{ jobs: unknown[]; next: string }>(
        await afterward(['list', '--limit', '2', '--json'], app),
      )
      expect(paged.jobs).toHaveLength(2)
      expect(typeof paged.next).toBe('string')
      const none = await afterward(['list', '--task', 'nope'], app)
      expect(none).toMatchObject({ code: 1, stdout: '', stderr: 'No jobs match.\n' })
      const future = await afterward(['list', '--since', '2099-01-01T00:00:00Z', '--json'], app)
      expect(future.code).toBe(1)
      expect(json(future)).toEqual({ jobs: [], next: null })
    })

    it('usage errors exit 2 and say what to write', async () => {
      const cases: [string[], RegExp][] = [
        [
          ['list', '--state', 'done'],
          /--state done: choose from waiting, delayed, active, completed, failed/,
        ],
        [['list', '--limit', '0'], /--limit 0: give a whole number from 1 to 1000/],
        [['list', '--since', 'yesterday'], /--since yesterday: write a span such as 30s/],
        [['list', '--cursor', 'garbage'], /cursor/],
        [['frobnicate'], /unknown command 'frobnicate'/],
        [['job'], /missing required argument 'id'/],
        [['retry'], /Give the id of a failed job, or --state failed/],
        [['retry', '--state', 'completed'], /only failed jobs can be retried/],
        [['--redact', 'a..b', 'list'], /--redact: .*'card\.number'/],
        [['--prefix', 'x', 'list'], /--prefix applies to the read-only view/],
      ]
      const results = await Promise.all(cases.map(([args]) => afterward(args, app)))
      results.forEach((result, i) => {
        expect(result.code, cases[i]![0].join(' ')).toBe(2)
        expect(result.stderr).toMatch(cases[i]![1])
      })
    })

    it('retry and remove ask first: not on a terminal they need --yes; with it they act and say so', async () => {
      const asked = await afterward(['retry', 'job-charge'], app)
      expect(asked.code).toBe(2)
      expect(asked.stderr).toContain(
        'Retry this job? Not asked: stdin is not a terminal. Pass --yes',
      )
      const retried = await afterward(['retry', 'job-charge', '--yes', '--json'], app)
      expect(retried.code).toBe(0)
      expect(json(retried)).toEqual({
        retried: [{ id: 'job-charge', task: 'charge', state: 'waiting' }],
        errors: [],
      })
      const bulk = await afterward(['retry', '--state', 'failed', '--task', 'charge', '--yes'], app)
      expect(bulk.code).toBe(0)
      expect(bulk.stdout.trim().split('\n').sort()).toEqual([
        'retried  job-charge  charge',
        'retried  job-charge-2  charge',
      ])
      const notFailed = await afterward(['retry', 'job-signup', '--yes'], app)
      expect(notFailed).toMatchObject({
        code: 1,
        stderr: "Job 'job-signup' is completed; only a failed job can be retried.\n",
      })
      const removed = await afterward(['remove', 'job-report', '--yes'], app)
      expect(removed).toMatchObject({ code: 0, stdout: 'removed  job-report  report\n' })
      expect((await afterward(['remove', 'nope', '--yes'], app)).code).toBe(1)
    })

    it('stats: per queue counts by state, per task live jobs and those finished in the last hour', async () => {
      const result = await afterward(['stats'], app)
      expect(result.code).toBe(0)
      expect(result.stdout).toMatch(
        /^Queues\nQUEUE\s+WAITING\s+DELAYED\s+ACTIVE\s+COMPLETED\s+FAILED\ndefault\s+0\s+0\s+0\s+1\s+2\nreports\s+1\s+0\s+0\s+0\s+0\n/,
      )
      expect(result.stdout).toMatch(
        /\ndefault\s+charge\s+0\s+0\s+0\s+0\s+2\ndefault\s+signup\s+0\s+0\s+0\s+1\s+0\nreports\s+report\s+1\s+0\s+0\s+0\s+0\n/,
      )
      expect(json(await afterward(['stats', '--json'], app))).toMatchObject({
        queues: [
          { queue: 'default', counts: { completed: 1, failed: 2 } },
          { queue: 'reports', counts: { waiting: 1 } },
        ],
        tasks: expect.arrayContaining([
          {
            queue: 'default',
            task: 'charge',
            waiting: 0,
            delayed: 0,
            active: 0,
            completedLastHour: 0,
            failedLastHour: 2,
          },
        ]),
        partial: false,
      })
    })

    it('schedules: none synced in this app, exit 1 and how schedules get there', async () => {
      const result = await afterward(['schedules'], app)
      expect(result).toMatchObject({ code: 1, stdout: '' })
      expect(result.stderr).toMatch(/^No schedules: no task with a `schedule` has been synced/)
      const scripted = await afterward(['schedules', '--json'], app)
      expect(scripted.code).toBe(1)
      expect(json(scripted)).toEqual({ schedules: [] })
    })

    it('finds no instance without a config or a broker URL, and refuses a config that exports none', async () => {
      const empty = await afterward(['list'], { cwd: join(fixtures, '..') })
      expect(empty.code).toBe(2)
      expect(empty.stderr).toMatch(
        /No Afterward instance: found no afterward\.config\.ts, .* Pass --config <file>/,
      )
      const bad = await afterward(['list', '--config', 'bad/afterward.config.mjs'])
      expect(bad.code).toBe(2)
      expect(bad.stderr).toMatch(/bad\/afterward\.config\.mjs must export your Afterward instance/)
      const missing = await afterward(['list', '--config', 'nope.config.ts'])
      expect(missing).toMatchObject({ code: 2 })
      expect(missing.stderr).toMatch(/--config .*nope\.config\.ts: no such file/)
      const explicit = await afterward([
        'request',
        'req-signup',
        '--config',
        'memory/afterward.config.ts',
        '--json',
      ])
      expect(json<{ jobs: unknown[] }>(explicit).jobs).toHaveLength(2)
    })
  },
)
