import { pino, type Logger } from 'pino'

/** The logger used when none is given: pino at `AFTERWARD_LOG_LEVEL` (default `info`). */
export function defaultLogger(): Logger {
  return pino({ name: 'afterward', level: process.env['AFTERWARD_LOG_LEVEL'] ?? 'info' })
}

/** The fields every job log line carries. */
export function jobBindings(job: {
  id: string
  task: string
  requestId: string | undefined
  attempt?: number
}): Record<string, unknown> {
  return { jobId: job.id, task: job.task, attempt: job.attempt, requestId: job.requestId }
}

const noop = (): void => undefined

/**
 * `log.child(bindings)`, made on first use rather than up front: pino serializes a child's
 * bindings when it is made, and most jobs log no line at a level `log` writes. A call at a level
 * that `log` does not write is a no-op without making the child; anything else (a line that is
 * written, `child()`, `level`, `bindings()`) goes to the child, made then with `log`'s level.
 */
export function lazyChild(log: Logger, bindings: Record<string, unknown>): Logger {
  return new Proxy({} as Logger, new LazyChild(log, bindings))
}

// A class rather than closures: one is made per job.
class LazyChild implements ProxyHandler<Logger> {
  #child: Logger | undefined
  constructor(
    readonly parent: Logger,
    readonly bindings: Record<string, unknown>,
  ) {}

  get child(): Logger {
    return (this.#child ??= this.parent.child(this.bindings))
  }

  get(_target: Logger, prop: string | symbol): unknown {
    const { parent } = this
    if (
      this.#child === undefined &&
      typeof prop === 'string' &&
      Object.hasOwn(parent.levels.values, prop) &&
      !parent.isLevelEnabled(prop)
    ) {
      return noop
    }
    const child = this.child
    const value: unknown = Reflect.get(child, prop, child)
    return typeof value === 'function' ? value.bind(child) : value
  }

  set(_target: Logger, prop: string | symbol, value: unknown): boolean {
    return Reflect.set(this.child, prop, value)
  }

  has(_target: Logger, prop: string | symbol): boolean {
    return Reflect.has(this.child, prop)
  }

  getPrototypeOf(): object | null {
    return Reflect.getPrototypeOf(this.child)
  }
}
