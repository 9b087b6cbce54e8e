// Compile-time contract of @afterward/core/http: Node's own request and response fit the
// lifecycle, and a request's defer is typed like reply.defer / res.defer.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { describe, expectTypeOf, it } from 'vitest'
import { createAfterward, defineTask, memory } from '@afterward/core'
import { createHttpLifecycle, type RequestLifecycle } from '@afterward/core/http'

const task = defineTask({ name: 'typed', run: (_input: { n: number }) => undefined })
const lifecycle = createHttpLifecycle(
  { afterward: createAfterward({ tasks: [task], driver: memory() }) },
  'types',
)

describe('@afterward/core/http types', () => {
  it("takes Node's IncomingMessage and ServerResponse as they are", () => {
    const exchange = { request: {} as IncomingMessage, response: {} as ServerResponse }
    expectTypeOf(lifecycle.open(exchange, task)).toEqualTypeOf<RequestLifecycle>()
  })

  it('types the three calls and defer', () => {
    const request = {} as RequestLifecycle
    expectTypeOf(request.handlerDone(200)).toEqualTypeOf<Promise<void> | undefined>()
    expectTypeOf(request.handlerErrored()).toBeVoid()
    expectTypeOf(request.responseClosed()).toBeVoid()
    expectTypeOf(request.defer(task, { n: 1 })).toEqualTypeOf<{ readonly id: string }>()
    // @ts-expect-error the input is typed from the task
    request.defer(task, { n: 'one' })
  })
})
