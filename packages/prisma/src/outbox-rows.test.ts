import { describe, expect, it } from 'vitest'
import { recordFromRow, type StoredRecord } from './outbox-rows.js'

const stored = (delay: number, createdAt: number): StoredRecord => ({
  id: 'job-1',
  task: 'send-receipt',
  input: { orderId: 1 },
  createdAt,
  options: {
    attempts: 3,
    backoff: { type: 'fixed', delay: 10, jitter: 0 },
    timeout: undefined,
    delay,
    priority: 'normal',
    key: undefined,
    queue: 'default',
  },
})

describe('recordFromRow', () => {
  it('keeps the delay and the defer time: drivers count the delay from createdAt', () => {
    expect(recordFromRow(stored(10_000, 1_000)).options).toMatchObject({ delay: 10_000 })
    expect(recordFromRow(stored(10_000, 1_000)).createdAt).toBe(1_000)
  })

  it('keeps the id, input, request id and trace as deferred', () => {
    const record = recordFromRow({
      ...stored(0, 1),
      requestId: 'req-1',
      trace: { traceparent: 't' },
    })
    expect(record).toMatchObject({
      id: 'job-1',
      input: { orderId: 1 },
      requestId: 'req-1',
      trace: { traceparent: 't' },
      createdAt: 1,
    })
  })
})
