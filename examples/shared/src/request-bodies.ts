// The request bodies both example apps accept, checked in the route before anything is deferred.
import { z } from 'zod'

export const signupBody = z.object({ email: z.email(), name: z.string().min(1) })

export const orderBody = z.object({
  key: z.string().min(1).max(100),
  email: z.email(),
  item: z.string().min(1),
  quantity: z.number().int().positive(),
})
