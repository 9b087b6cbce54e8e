// Polling with a deadline, for what no event announces (a job stored by another process).
/** Polls `check` until it resolves true; throws `message` after `timeoutMs`. */
export async function waitFor(
  check: () => Promise<boolean>,
  message: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(message)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
