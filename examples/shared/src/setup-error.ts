/**
 * A problem with the set-up (a missing generated client, a setting that needs another), not a
 * bug: entry points print its message alone, without a stack trace, and exit 1.
 *
 * @example
 * throw new SetupError('The worker script needs REDIS_URL.')
 */
export class SetupError extends Error {
  override readonly name = 'SetupError'
}

/**
 * Runs an entry point's `main`; a `SetupError` becomes a one-paragraph message and exit code 1.
 *
 * @example
 * await runMain(() => serve('Fastify', startApp, loadSettings()))
 */
export async function runMain(main: () => Promise<number | void>): Promise<void> {
  try {
    const code = await main()
    if (typeof code === 'number') process.exitCode = code
  } catch (err) {
    if (!(err instanceof SetupError)) throw err
    console.error(`\n${err.message}`)
    process.exitCode = 1
  }
}
