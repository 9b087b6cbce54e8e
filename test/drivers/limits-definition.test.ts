// Task limits at definition time: bad limits, rates and retry delays are refused at once.
import { describe, expect, it } from 'vitest'
import { ErrorCode, RetryAfterError, defineTask } from '@afterward/core'
import { thrown } from '../support/afterward.js'

describe('task limits: definition', () => {
  it('refuses a limit of 0, a negative rate and key functions that are not functions', () => {
    const run = (): undefined => undefined
    const bad = (definition: object): { code?: string; message?: string } =>
      thrown(() => defineTask({ name: 't', run, ...definition })) as { code?: string }
    expect(bad({ limit: { concurrency: 0 } })).toMatchObject({
      code: ErrorCode.CONFIG_INVALID,
      message: expect.stringMatching(/limit\.concurrency must be an integer >= 1 \(got 0\)/),
    })
    expect(bad({ limit: { concurrency: 1.5 } }).code).toBe(ErrorCode.CONFIG_INVALID)
    expect(bad({ limit: 3 }).message).toMatch(/limit must be \{ concurrency, key\? \}/)
    expect(bad({ limit: { concurrency: 2, key: 'tenantId' } }).message).toMatch(
      /limit\.key must be a function/,
    )
    expect(bad({ rate: { max: -1, per: 1_000 } }).message).toMatch(
      /rate\.max must be an integer >= 1 \(got -1\)/,
    )
    expect(bad({ rate: { max: 10, per: -5 } }).message).toMatch(/rate\.per must be a number of ms/)
    expect(bad({ rate: { max: 10 } }).message).toMatch(/rate\.per/)
    expect(bad({ rate: { max: 1, per: 1, key: 1 } }).message).toMatch(/rate\.key must be/)
    expect(thrown(() => new RetryAfterError(-1))).toMatchObject({ code: ErrorCode.CONFIG_INVALID })
  })
})
