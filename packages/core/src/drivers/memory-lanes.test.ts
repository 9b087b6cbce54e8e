import { describe, expect, it } from 'vitest'
import { Fifo, PriorityLanes } from './memory-lanes.js'

describe('Fifo', () => {
  it('gives items back in order across compactions, and knows its size', () => {
    const fifo = new Fifo<number>()
    const out: number[] = []
    let next = 0
    // Interleave pushes and shifts so that the consumed prefix grows past the compaction point.
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 100; i++) fifo.push(next++)
      for (let i = 0; i < 80; i++) out.push(fifo.shift()!)
      expect(fifo.size).toBe(next - out.length)
      expect(fifo.peek()).toBe(out.length)
    }
    while (fifo.size > 0) out.push(fifo.shift()!)
    expect(out).toEqual(Array.from({ length: next }, (_, i) => i))
    expect(fifo.shift()).toBeUndefined()
    expect(fifo.peek()).toBeUndefined()
  })
})

describe('PriorityLanes', () => {
  it('takes high before normal before low, first in first out within each', () => {
    const lanes = new PriorityLanes<string>()
    lanes.push('low-1', 'low')
    lanes.push('normal-1', 'normal')
    lanes.push('high-1', 'high')
    lanes.push('normal-2', 'normal')
    expect(lanes.size).toBe(4)
    expect(lanes.peek()).toBe('high-1')
    const order = [lanes.shift(), lanes.shift()]
    lanes.push('high-2', 'high')
    order.push(lanes.shift(), lanes.shift(), lanes.shift(), lanes.shift())
    expect(order).toEqual(['high-1', 'normal-1', 'high-2', 'normal-2', 'low-1', undefined])
    expect(lanes.size).toBe(0)
  })
})
