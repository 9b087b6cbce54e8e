// `pnpm demo` end to end, for both examples: the demo script as a child process (its own temp
// working directory, so the two can run at once), its exit code, report and mailbox.
import { execFile } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../', import.meta.url))
const tsx = join(root, 'node_modules/.bin/tsx')
const dirs: string[] = []

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

interface Run {
  code: number
  output: string
  cwd: string
}

function runDemo(example: string): Promise<Run> {
  const cwd = mkdtempSync(join(tmpdir(), 'afterward-demo-'))
  dirs.push(cwd)
  const script = join(root, 'examples', example, 'src/demo.ts')
  // A developer's REDIS_URL & co. must not matter: the demo ignores them without --use-env.
  const env = { ...process.env, REDIS_URL: 'redis://127.0.0.1:1', NO_COLOR: '1' }
  return new Promise((resolve) => {
    execFile(
      tsx,
      ['--conditions=source', script],
      { cwd, env, timeout: 90_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1
        resolve({ code, output: stdout + stderr, cwd })
      },
    )
  })
}

describe.concurrent.each(['fastify-signup', 'express-signup'])('pnpm demo (%s)', (example) => {
  it("exits 0 with the flaky email retried and delivered and the failed route's job dropped", async () => {
    const { code, output, cwd } = await runDemo(example)
    expect(output).toMatch(/All \d+ checks passed/)
    expect(code).toBe(0)
    expect(output).toContain('embedded defaults')
    expect(output).toContain('PGlite (embedded PostgreSQL)')
    expect(output).toMatch(/send-welcome-email +completed after 3 attempts/)
    expect(output).toContain('✓ welcome email retried and delivered')
    expect(output).toContain('✓ deduplicated: 2 jobs deferred, 0 stored')
    expect(output).toMatch(/→ 502 .*\n.*\n {3}✓ its job was dropped/)
    expect(output).toMatch(/send-daily-digest +completed after 3 attempts/)
    expect(output).toContain('✓ one digest email in the mailbox')
    expect(output).not.toContain('✗')
    expect(output).toMatch(
      /✓ the dashboard shows them at \/afterward\/requests\/.*\(200; 401 without the password\)/,
    )
    // It ends with the dashboard link of the order's request, the one the CLI shows too.
    expect(output).toMatch(
      /\$ pnpm afterward request ([0-9a-f-]{36})\n[^]*\nThe order's jobs, in the dashboard \(served while the app runs: pnpm dev keeps it up\):\n {2}http:\/\/127\.0\.0\.1:\d+\/afterward\/requests\/\1 {2}\(user admin, password \S+\)/,
    )
    // It ends with the CLI command that shows the order's jobs, and what it prints.
    expect(output).toMatch(
      /\$ pnpm afterward request [0-9a-f-]{36}\n {2}Request [0-9a-f-]{36}: 2 jobs: 2 completed\n/,
    )
    expect(output).toMatch(/\n {2}[0-9a-f-]{36} {2}send-order-confirmation {2}completed {2}3\/4 /)

    const mailbox = join(cwd, '.demo/demo/mailbox')
    const mails = readdirSync(mailbox).map((name) => readFileSync(join(mailbox, name), 'utf8'))
    expect(mails.map((mail) => /^Subject: (.*)$/m.exec(mail)?.[1]).sort()).toEqual([
      'Daily digest: 1 new signup',
      'Order order-1001 confirmed',
      'Welcome, Ada!',
    ])
  }, 120_000)
})
