import type { StandardSchemaV1 } from '@standard-schema/spec'
import type { AnyTask } from './task.js'
import { AfterwardInputError } from './errors.js'
import { checkJson, formatKey } from './json.js'

/** Default limit for the JSON form of one job's input. */
export const DEFAULT_MAX_INPUT_BYTES = 64 * 1024

/**
 * Turns a `defer`/`enqueue` input into the JSON value that will be stored, or throws
 * `AfterwardInputError` naming the task and the JSON path. Synchronous on purpose: a route
 * learns about bad input at the call, not when a worker runs hours later.
 */
export function prepareInput(task: AnyTask, input: unknown, maxBytes: number): unknown {
  // A task without input may be deferred with no argument; store null for it.
  const raw = input === undefined && task.input === undefined ? null : input
  const json = checkJson(raw)
  if (json.problem) {
    throw inputError(task, json.problem.path, json.problem.message)
  }
  if (json.datePaths.length > 0 && task.input === undefined) {
    throw inputError(
      task,
      json.datePaths[0]!,
      'a Date is stored as its ISO string; give the task an input schema that accepts that string, or pass date.toISOString()',
    )
  }
  if (task.input) {
    const result = task.input['~standard'].validate(json.value)
    if (result instanceof Promise) {
      throw inputError(
        task,
        'input',
        'the input schema validates asynchronously; defer checks input synchronously, so use a synchronous schema',
      )
    }
    if (result.issues) {
      const issue = result.issues[0]!
      const path = issuePath(issue)
      const hint = json.datePaths.includes(path)
        ? ' (a Date is stored as its ISO string: the schema must accept that string, e.g. z.iso.datetime())'
        : ''
      throw inputError(task, path, `${issue.message}${hint}`)
    }
  }
  // Serialized only when the bound counted during the check does not settle it.
  const bytes =
    json.maxBytes <= maxBytes ? 0 : Buffer.byteLength(JSON.stringify(json.value), 'utf8')
  if (bytes > maxBytes) {
    throw inputError(
      task,
      'input',
      `its JSON form is ${bytes} bytes, over the ${maxBytes}-byte limit; store large data elsewhere and pass its id, or raise maxInputBytes`,
    )
  }
  return json.value
}

/**
 * Validates a stored input again in the worker and returns the schema's output (which may be
 * transformed). Throws `AfterwardInputError` (not retryable) when it no longer matches.
 */
export async function validateForRun(task: AnyTask, input: unknown): Promise<unknown> {
  if (!task.input) return input
  const result = await task.input['~standard'].validate(input)
  if (result.issues) {
    const issue = result.issues[0]!
    const problem = `${issue.message} (stored input no longer matches the schema)`
    throw inputError(task, issuePath(issue), problem)
  }
  return result.value
}

function issuePath(issue: StandardSchemaV1.Issue): string {
  let path = 'input'
  for (const segment of issue.path ?? []) {
    const key = typeof segment === 'object' ? segment.key : segment
    path += formatKey(key)
  }
  return path
}

function inputError(task: AnyTask, path: string, problem: string): AfterwardInputError {
  return new AfterwardInputError(
    task.name,
    path,
    `Invalid input for task '${task.name}' at ${path}: ${problem}.`,
  )
}
