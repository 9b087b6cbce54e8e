import { describe, expect, it } from 'vitest'
import { ErrorCode } from './errors.js'
import { REDACTED, compileRedact, redactInput } from './redact.js'

describe('redactInput', () => {
  const input = {
    email: 'a@example.com',
    password: 'hunter2',
    card: { number: '4242', expiry: '12/30' },
    users: [{ token: 't1', name: 'Ada' }, { name: 'Bob' }],
  }

  it('hides the fields at the paths, leaves missing ones missing and the input unchanged', () => {
    const before = structuredClone(input)
    expect(
      redactInput(input, ['password', 'card.number', 'users[*].token', 'nope.deeper', '[0]']),
    ).toEqual({
      email: 'a@example.com',
      password: REDACTED,
      card: { number: REDACTED, expiry: '12/30' },
      users: [{ token: REDACTED, name: 'Ada' }, { name: 'Bob' }],
    })
    expect(input).toEqual(before)
    expect(redactInput(['a', 'b'], ['[1]'])).toEqual(['a', REDACTED])
    expect(redactInput({ a: { b: 1 } }, ['a.*'])).toEqual({ a: { b: REDACTED } })
    expect(redactInput('plain', ['password'])).toBe('plain')
    expect(redactInput(input, undefined)).toBe(input)
  })

  it('takes a function of the input (a copy) and the task; one that throws hides everything', () => {
    const hide = (value: unknown, task: string): unknown => {
      ;(value as { password: string }).password = `hidden by ${task}`
      return value
    }
    expect(redactInput(input, hide, 'signup')).toMatchObject({ password: 'hidden by signup' })
    expect(input.password).toBe('hunter2')
    const broken = (): unknown => {
      throw new Error('bug')
    }
    expect(redactInput(input, broken)).toBe(REDACTED)
  })

  it('refuses paths that are not paths, saying how to write one', () => {
    for (const bad of [[''], ['a..b'], [42], 'password']) {
      expect(() => compileRedact(bad as never)).toThrow(
        expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }),
      )
    }
    expect(() => compileRedact(['a..b'])).toThrow(/'card\.number'/)
  })
})
