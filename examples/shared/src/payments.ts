/**
 * A stand-in payment provider whose refunds always fail, so that `POST /orders/:key/refund`
 * shows what happens to jobs deferred by a request that then fails: they are dropped.
 *
 * @example
 * await paymentProvider.refund(order.key) // throws
 */
export const paymentProvider = {
  refund(orderKey: string): Promise<never> {
    const error = new Error(`payment provider declined the refund of ${orderKey} (simulated)`)
    return Promise.reject(Object.assign(error, { statusCode: 502 }))
  },
}
