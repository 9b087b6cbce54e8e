// Small helpers shared by the benchmarks: timing loops and a readable table of medians.

/** Runs `fn` `warmup` times untimed, then `runs` times timed; returns each run's ms. */
export async function sample(
  fn: () => Promise<unknown>,
  runs: number,
  warmup = 50,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn()
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    await fn()
    times.push(performance.now() - start)
  }
  return times
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

/** Prints one row per case: median, p95, and the ratio of medians against the baseline row. */
export function report(
  title: string,
  rows: { name: string; times: number[]; baseline?: string }[],
): void {
  console.log(`\n${title}`)
  const medians = new Map(rows.map((r) => [r.name, median(r.times)]))
  for (const row of rows) {
    const m = medians.get(row.name)!
    const base = row.baseline === undefined ? undefined : medians.get(row.baseline)
    const ratio =
      base === undefined
        ? ''
        : `  ${(m / base).toFixed(2)}x ${row.baseline} (+${(m - base).toFixed(3)} ms)`
    console.log(
      `  ${row.name.padEnd(42)} median ${m.toFixed(3)} ms  p95 ${percentile(row.times, 95).toFixed(3)} ms${ratio}`,
    )
  }
}

/** Prints rows as a Markdown table with aligned columns (readable in a terminal, pasteable in docs). */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
  console.log(`\n${line(header)}\n${line(widths.map((w) => '-'.repeat(w)))}`)
  for (const row of rows) console.log(line(row))
}

/**
 * Runs every case once per round, cases in turn, `rounds` times, so that a slow spell of a
 * shared machine hits every case alike instead of one case's whole series.
 */
export async function interleave<N extends string, T>(
  cases: readonly N[],
  rounds: number,
  run: (name: N, round: number) => Promise<T>,
): Promise<Map<N, T[]>> {
  const results = new Map<N, T[]>(cases.map((name) => [name, []]))
  for (let round = 0; round < rounds; round++) {
    for (const name of cases) results.get(name)!.push(await run(name, round))
  }
  return results
}

/**
 * Prints one row per case: median rate (higher is better), the range, and the ratio of medians
 * against the baseline row (above 1: faster than the baseline).
 */
export function reportRates(
  title: string,
  unit: string,
  rows: { name: string; rates: number[]; baseline?: string }[],
): void {
  console.log(`\n${title}`)
  const medians = new Map(rows.map((r) => [r.name, median(r.rates)]))
  for (const row of rows) {
    const m = medians.get(row.name)!
    const base = row.baseline === undefined ? undefined : medians.get(row.baseline)
    const ratio = base === undefined ? '' : `  ${(m / base).toFixed(2)}x ${row.baseline}`
    const range = `${Math.round(Math.min(...row.rates))}..${Math.round(Math.max(...row.rates))}`
    console.log(
      `  ${row.name.padEnd(42)} median ${Math.round(m)} ${unit}  (${range}, ${row.rates.length} runs)${ratio}`,
    )
  }
}

/**
 * Runs `once` `warmup` times untimed, then `runs` times. Each call sets up what it needs and
 * returns the ms of the part it timed (see `timed`), so that setup stays out of the numbers.
 */
export async function sampleTimed(
  once: () => Promise<number>,
  runs: number,
  warmup = 1,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await once()
  const times: number[] = []
  for (let i = 0; i < runs; i++) times.push(await once())
  return times
}

/** The ms `fn` takes to settle. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now()
  await fn()
  return performance.now() - start
}

/**
 * Prints one row per case as a rate: `items` per second at the median run time, the slowest
 * and fastest runs, and the ratio of median rates against the baseline row.
 */
export function reportRate(
  title: string,
  unit: string,
  rows: { name: string; times: number[]; items: number; baseline?: string }[],
): void {
  console.log(`\n${title}`)
  const rate = (items: number, ms: number): number => (items * 1_000) / ms
  const medians = new Map(rows.map((r) => [r.name, rate(r.items, median(r.times))]))
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US').padStart(11)
  for (const row of rows) {
    const m = medians.get(row.name)!
    const base = row.baseline === undefined ? undefined : medians.get(row.baseline)
    const ratio = base === undefined ? '' : `  ${(m / base).toFixed(3)}x ${row.baseline}`
    const range = `${fmt(rate(row.items, Math.max(...row.times)))} - ${fmt(rate(row.items, Math.min(...row.times))).trim()}`
    console.log(`  ${row.name.padEnd(44)} ${fmt(m)} ${unit}/s  (runs ${range})${ratio}`)
  }
}
