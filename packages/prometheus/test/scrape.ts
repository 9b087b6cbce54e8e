// Reads a Prometheus text exposition as Prometheus would: one sample per line.
import { expect } from 'vitest'

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

/** Every sample of the text; throws on a line that is neither a comment nor a sample. */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const match = LINE.exec(line)
    if (!match) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) labels[key!] = value!
    samples.push({ name: match[1]!, labels, value: Number(match[3]) })
  }
  return samples
}

/**
 * The metrics of one scrape. `value(name, labels)` is the sample with exactly these labels, or
 * undefined when there is none; `series(name)` are all samples of one name.
 */
export function scraped(text: string) {
  const samples = parseMetrics(text)
  const same = (a: Record<string, string>, b: Record<string, string>): boolean =>
    Object.keys(a).length === Object.keys(b).length &&
    Object.entries(a).every(([k, v]) => b[k] === v)
  return {
    samples,
    series: (name: string): Sample[] => samples.filter((s) => s.name === name),
    value(name: string, labels: Record<string, string> = {}): number | undefined {
      const found = samples.filter((s) => s.name === name && same(s.labels, labels))
      expect(found.length, `${name} ${JSON.stringify(labels)} appears more than once`).toBeLessThan(
        2,
      )
      return found[0]?.value
    },
    /** A histogram's count, after checking that its +Inf bucket says the same. */
    count(name: string, labels: Record<string, string>): number | undefined {
      const count = this.value(`${name}_count`, labels)
      expect(this.value(`${name}_bucket`, { ...labels, le: '+Inf' })).toBe(count)
      return count
    },
  }
}
