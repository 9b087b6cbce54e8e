import { expectTypeOf, test } from 'vitest'
import { createAfterward, memory } from '@afterward/core'
import { processIo, runCli, type CliIo, type RunCliOptions } from '@afterward/cli'

test('runCli takes the arguments, optional io and an optional instance, and resolves with the exit code', () => {
  const afterward = createAfterward({ tasks: [], driver: memory() })
  expectTypeOf(runCli(['request', 'req-1'])).toEqualTypeOf<Promise<number>>()
  expectTypeOf(runCli(['list'], processIo(), { afterward })).toEqualTypeOf<Promise<number>>()
  expectTypeOf<RunCliOptions['afterward']>().toEqualTypeOf<typeof afterward | undefined>()
  const io: CliIo = { ...processIo(), stdout: { write: (_text: string) => true } }
  expectTypeOf(io.cwd).toBeString()
  // @ts-expect-error argv is a list of strings, not one string
  void runCli('request req-1')
})
