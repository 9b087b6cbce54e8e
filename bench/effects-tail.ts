// The soak's reader of the fault task's effects file (one `<job id> <ms> <how>` line per run that
// reached its end, test/faults/task.ts): each call reads only what was appended since the last
// one. Reading the whole file each time, as the fault suite does, costs time and memory that grow
// with the run: at 183,000 lines (a 30-minute soak) a read took 150 ms, a pause of the load
// generator in the same process, and 56 MB of heap.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'

/** Returns a function that gives the job ids of the runs recorded since its previous call. */
export function effectsTail(file: string): () => string[] {
  let offset = 0
  return () => {
    let fd: number
    try {
      fd = openSync(file, 'r')
    } catch {
      return [] // no run has ended yet
    }
    try {
      const size = fstatSync(fd).size
      if (size <= offset) return []
      const buffer = Buffer.alloc(size - offset)
      const read = readSync(fd, buffer, 0, buffer.length, offset)
      // Whole lines only: a line still being written is read by the next call.
      const end = buffer.subarray(0, read).lastIndexOf(10) + 1
      offset += end
      const lines = buffer.toString('utf8', 0, end).split('\n')
      return lines.flatMap((line) => (line === '' ? [] : [line.slice(0, line.indexOf(' '))]))
    } finally {
      closeSync(fd)
    }
  }
}
