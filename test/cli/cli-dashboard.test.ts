// `afterward dashboard`: the dashboard's standalone server started by the real binary, when
// @afterward/dashboard is installed next to the CLI; a clear message when it is not.
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { afterward, fixtures } from './run-cli.js'

const cliPackage = fileURLToPath(new URL('../../packages/cli/package.json', import.meta.url))
const installed = ((): boolean => {
  try {
    createRequire(cliPackage).resolve('@afterward/dashboard/package.json')
    return true
  } catch {
    return false
  }
})()
const app = { cwd: join(fixtures, 'memory') }

describe('afterward dashboard', () => {
  it('refuses to start without auth, and names both ways to give it', async () => {
    const result = await afterward(['dashboard', '--port', '0'], app)
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(
      'The dashboard needs auth: pass --username <name> and set AFTERWARD_DASHBOARD_PASSWORD (basic auth), or pass --no-auth',
    )
  })

  it.runIf(!installed)('says how to install @afterward/dashboard when it is missing', async () => {
    const result = await afterward(['dashboard', '--no-auth'], app)
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('pnpm add @afterward/dashboard')
  })

  it.runIf(installed)('serves the request page behind basic auth until SIGTERM', async () => {
    const bin = fileURLToPath(new URL('../../packages/cli/src/bin.ts', import.meta.url))
    const child = spawn(
      process.execPath,
      [
        '--conditions=source',
        '--import',
        'tsx',
        bin,
        'dashboard',
        '--port',
        '0',
        '--username',
        'ops',
      ],
      {
        cwd: app.cwd,
        env: { ...process.env, NO_COLOR: '1', AFTERWARD_DASHBOARD_PASSWORD: 's3cret' },
      },
    )
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    const url = await new Promise<string>((resolve, reject) => {
      let out = ''
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString()
        const found = /Dashboard on (http:\/\/\S+)/.exec(out)
        if (found) resolve(found[1]!)
      })
      void exited.then(() => reject(new Error(`exited before listening: ${out}`)))
    })
    expect((await fetch(`${url}/`)).status).toBe(401)
    const page = await fetch(`${url}/requests/req-signup`, {
      headers: { authorization: `Basic ${Buffer.from('ops:s3cret').toString('base64')}` },
    })
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).toContain('job-signup')
    expect(html).toContain('job-charge')
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
  })
})
