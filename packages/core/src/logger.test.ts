import { Writable } from 'node:stream'
import { pino } from 'pino'
import { describe, expect, it, vi } from 'vitest'
import { lazyChild } from './logger.js'

function capture(level: string) {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>)
      done()
    },
  })
  const log = pino({ level }, stream)
  return { log, lines, child: vi.spyOn(log, 'child') }
}

describe('lazyChild', () => {
  it('makes no child for lines at levels the parent does not write', () => {
    const { log, lines, child } = capture('info')
    const lazy = lazyChild(log, { jobId: 'j1' })
    lazy.debug('job started')
    lazy.trace({ a: 1 }, 'detail')
    expect(child).not.toHaveBeenCalled()
    expect(lines).toEqual([])
  })

  it('writes the lines the parent writes with the bindings, through one child', async () => {
    const { log, lines, child } = capture('info')
    const lazy = lazyChild(log, { jobId: 'j1', task: 't' })
    lazy.info({ ms: 3 }, 'job completed')
    lazy.error(new Error('boom'), 'failed')
    await new Promise((resolve) => setImmediate(resolve))
    expect(child).toHaveBeenCalledTimes(1)
    expect(lines).toMatchObject([
      { jobId: 'j1', task: 't', ms: 3, msg: 'job completed' },
      { jobId: 'j1', task: 't', msg: 'failed', err: { message: 'boom' } },
    ])
  })

  it('behaves as the child for everything else: level, bindings, child()', async () => {
    const { log, lines } = capture('info')
    const lazy = lazyChild(log, { jobId: 'j1' })
    expect(lazy.level).toBe('info')
    expect(lazy.bindings()).toEqual({ jobId: 'j1' })
    lazy.level = 'debug'
    lazy.debug('now written')
    lazy.child({ step: 2 }).info('nested')
    await new Promise((resolve) => setImmediate(resolve))
    expect(log.level).toBe('info')
    expect(lines).toMatchObject([
      { jobId: 'j1', msg: 'now written' },
      { jobId: 'j1', step: 2, msg: 'nested' },
    ])
    expect(lazy.isLevelEnabled('debug')).toBe(true)
  })
})
