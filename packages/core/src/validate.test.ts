import { describe, expect, it } from 'vitest'
import { defineTask } from './task.js'
import { prepareInput } from './validate.js'

describe('prepareInput size limit', () => {
  const task = defineTask({ name: 'sized', run: (_input: { s: string }) => undefined })
  // {"s":"…"} is 8 bytes around the string; 'é' is 2 bytes in UTF-8 and '\n' 2 in JSON.
  const sized = (limit: number, text: string): unknown => prepareInput(task, { s: text }, limit)

  it('accepts an input whose JSON form is exactly at the limit, and not one byte more', () => {
    expect(sized(8 + 10, 'é'.repeat(5))).toEqual({ s: 'ééééé' })
    expect(() => sized(8 + 9, 'é'.repeat(5))).toThrow(/18 bytes, over the 17-byte limit/)
    expect(sized(8 + 4, '\n\n')).toEqual({ s: '\n\n' })
    expect(() => sized(8 + 3, '\n\n')).toThrow(/12 bytes, over the 11-byte limit/)
  })
})
