// memory() only: it keeps the records it is given instead of cloning them, so these pin that
// nobody holding a reference (the caller, a task, an inspector) can change a stored job.
import { describe, expect, it } from 'vitest'
import { defineTask, memory } from '@afterward/core'
import { deferred, instance } from '../support/afterward.js'

interface Order {
  items: { sku: string; qty: number }[]
  note: { text: string }
}

const original = (): Order => ({ items: [{ sku: 'a', qty: 1 }], note: { text: 'hi' } })

describe('memory() copies', () => {
  it('changing the input object after defer and after flush changes no stored job', async () => {
    const received: Order[] = []
    const task = defineTask({ name: 'copied', run: (input: Order) => void received.push(input) })
    const driver = memory()
    const afterward = instance({ tasks: [task], driver })
    const input = original()
    const scope = afterward.scope()
    const { id } = scope.defer(task, input)
    input.items[0]!.qty = 2
    input.note.text = 'changed before flush'
    await scope.flush()
    input.items.push({ sku: 'b', qty: 9 })
    input.note = { text: 'changed after flush' }
    expect((await afterward.jobs.get(id))?.input).toEqual(original())
    await afterward.worker().start()
    await driver.drain()
    expect(received).toEqual([original()])
  })

  it("changing the scope's trace object after defer changes no stored job", async () => {
    const traces: unknown[] = []
    const task = defineTask({
      name: 'traced',
      run: (_input: void, ctx) => void traces.push(ctx.job.trace),
    })
    const driver = memory()
    const afterward = instance({ tasks: [task], driver })
    const trace: Record<string, string> = { traceparent: '00-aaaa-bbbb-01' }
    const scope = afterward.scope({ trace })
    scope.defer(task)
    await scope.flush()
    trace['traceparent'] = 'changed'
    trace['tracestate'] = 'added'
    await afterward.worker().start()
    await driver.drain()
    expect(traces).toEqual([{ traceparent: '00-aaaa-bbbb-01' }])
  })

  it('what jobs.get returns is a copy', async () => {
    const task = defineTask({ name: 'inspected', run: (_input: Order) => undefined })
    const afterward = instance({ tasks: [task], driver: memory() })
    const { id } = await afterward.enqueue(task, original())
    const seen = (await afterward.jobs.get(id))!.input as Order
    seen.items[0]!.qty = 100
    expect((await afterward.jobs.get(id))?.input).toEqual(original())
  })

  it('a task that changes its input changes neither the stored job nor the next attempt', async () => {
    const attempts: Order[] = []
    const task = defineTask({
      name: 'mutating',
      retry: { attempts: 2, backoff: { type: 'fixed', delay: 0, jitter: 0 } },
      run(input: Order, ctx) {
        attempts.push(structuredClone(input))
        input.items[0]!.qty++
        input.note.text = `attempt ${ctx.job.attempt}`
        if (ctx.job.attempt === 1) throw new Error('first attempt fails')
      },
    })
    const driver = memory()
    const afterward = instance({ tasks: [task], driver })
    const { id } = await afterward.enqueue(task, original())
    await afterward.worker().start()
    await driver.drain()
    expect(attempts).toEqual([original(), original()])
    expect((await afterward.jobs.get(id))?.input).toEqual(original())
  })

  it('keeps an own __proto__ key (JSON.parse makes them) as data, as JSON would', async () => {
    const received = deferred<unknown>()
    const task = defineTask({ name: 'proto', run: (input: unknown) => received.resolve(input) })
    const afterward = instance({ tasks: [task], driver: memory() })
    const input = JSON.parse('{"__proto__":{"admin":true},"list":[{"a":1}]}') as unknown
    const { id } = await afterward.enqueue(task, input)
    await afterward.worker().start()
    for (const got of [await received.promise, (await afterward.jobs.get(id))?.input]) {
      expect(Object.getPrototypeOf(got)).toBe(Object.prototype)
      expect(JSON.stringify(got)).toBe('{"__proto__":{"admin":true},"list":[{"a":1}]}')
    }
  })
})
