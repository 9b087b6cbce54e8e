// Questions over the IPC channel between the suite and its child processes (the app, the
// workers): the suite asks by name, the child answers with what its handler returns.
import type { ChildProcess } from 'node:child_process'

interface Question {
  type: 'ask'
  seq: number
  name: string
  arg: unknown
}

interface Answer {
  type: 'answer'
  seq: number
  value?: unknown
  error?: string
}

type Handlers = Record<string, (arg: never) => unknown>

/** In a child process: answers the parent's questions with `handlers`. */
export function answer(handlers: Handlers): void {
  process.on('message', (message: Question) => {
    if (message?.type !== 'ask') return
    const handler = handlers[message.name] as ((arg: unknown) => unknown) | undefined
    const reply = (fields: Partial<Answer>) =>
      process.send?.({ type: 'answer', seq: message.seq, ...fields } satisfies Answer)
    if (handler === undefined) return reply({ error: `no handler for '${message.name}'` })
    Promise.resolve()
      .then(() => handler(message.arg))
      .then(
        (value) => reply({ value }),
        (error: unknown) => reply({ error: String(error) }),
      )
  })
}

/**
 * The answer to `memory`: `process.memoryUsage()` after a GC (the children run with
 * --expose-gc), so that garbage not yet collected is not counted as a leak.
 */
export function memoryAfterGc(): NodeJS.MemoryUsage {
  global.gc?.()
  return process.memoryUsage()
}

let nextSeq = 0

/** In the parent: asks `child` a question; rejects after `timeoutMs` or if the child is gone. */
export function ask<T>(child: ChildProcess, name: string, arg?: unknown, timeoutMs = 5_000) {
  return new Promise<T>((resolve, reject) => {
    if (!child.connected) return reject(new Error(`'${name}': the process is gone`))
    const seq = nextSeq++
    const timer = setTimeout(
      () => done(new Error(`'${name}': no answer in ${timeoutMs} ms`)),
      timeoutMs,
    )
    const listener = (message: Answer) => {
      if (message?.type !== 'answer' || message.seq !== seq) return
      done(message.error === undefined ? undefined : new Error(message.error), message.value)
    }
    const onExit = () => done(new Error(`'${name}': the process exited`))
    function done(error: Error | undefined, value?: unknown) {
      clearTimeout(timer)
      child.off('message', listener)
      child.off('exit', onExit)
      if (error) reject(error)
      else resolve(value as T)
    }
    child.on('message', listener)
    child.once('exit', onExit)
    child.send({ type: 'ask', seq, name, arg } satisfies Question, (error) => error && done(error))
  })
}
