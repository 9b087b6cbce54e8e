import type { Priority } from '../options.js'
import { PRIORITY_RANK } from '../options.js'

/** A first-in first-out queue with O(1) push and shift (an array and a moving head). */
export class Fifo<T> {
  #items: (T | undefined)[] = []
  #head = 0

  get size(): number {
    return this.#items.length - this.#head
  }

  push(item: T): void {
    this.#items.push(item)
  }

  peek(): T | undefined {
    return this.#items[this.#head]
  }

  /** Removes one item wherever it is: O(n), for an operator's rare removal. */
  delete(item: T): boolean {
    const at = this.#items.indexOf(item, this.#head)
    if (at < 0) return false
    this.#items.splice(at, 1)
    return true
  }

  shift(): T | undefined {
    if (this.#head === this.#items.length) return undefined
    const item = this.#items[this.#head]
    this.#items[this.#head++] = undefined
    // Drop the consumed prefix once it is most of the array, so memory follows the live size.
    if (this.#head >= 1_024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head)
      this.#head = 0
    } else if (this.#head === this.#items.length) {
      this.#items.length = 0
      this.#head = 0
    }
    return item
  }
}

/**
 * The waiting jobs of one queue: one FIFO lane per priority, so that taking the next job looks
 * at three heads (a `high` job never waits behind a `normal` one) and adding one is O(1).
 */
export class PriorityLanes<T> {
  readonly #lanes: Fifo<T>[] = Object.values(PRIORITY_RANK).map(() => new Fifo<T>())

  get size(): number {
    let size = 0
    for (const lane of this.#lanes) size += lane.size
    return size
  }

  /** Adds at the end of its priority's lane. */
  push(item: T, priority: Priority): void {
    this.#lanes[PRIORITY_RANK[priority] - 1]!.push(item)
  }

  /** The job that `shift` would return. */
  peek(): T | undefined {
    for (const lane of this.#lanes) {
      const head = lane.peek()
      if (head !== undefined) return head
    }
    return undefined
  }

  /** Removes one item from whichever lane holds it. */
  delete(item: T): boolean {
    return this.#lanes.some((lane) => lane.delete(item))
  }

  shift(): T | undefined {
    for (const lane of this.#lanes) {
      if (lane.size > 0) return lane.shift()
    }
    return undefined
  }
}
