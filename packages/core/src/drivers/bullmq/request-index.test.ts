import { describe, expect, it } from 'vitest'
import {
  bucketExpiry,
  bucketOf,
  indexBuckets,
  indexMember,
  liveBuckets,
  memberRange,
  parseMember,
} from './request-index.js'

const DAY = 86_400

describe('request index buckets', () => {
  it('sizes buckets from the retention: about 33 live at once, never under a minute', () => {
    expect(indexBuckets(30 * DAY).width).toBe(81_000)
    expect(indexBuckets(10).width).toBe(60)
    const buckets = indexBuckets(30 * DAY)
    expect(liveBuckets(buckets, Date.now()).length).toBeLessThanOrEqual(34)
  })

  it('keeps every entry for at least the retention, and lists each bucket that may hold one', () => {
    const buckets = indexBuckets(3_600)
    const writtenAt = 1_800_000_000_000
    const bucket = bucketOf(buckets, writtenAt)
    // The bucket outlives the entry's retention...
    expect(bucketExpiry(buckets, bucket)).toBeGreaterThanOrEqual(writtenAt / 1_000 + 3_600)
    // ...and a lookup at any moment of that retention asks it.
    for (const later of [0, 1, 1_800, 3_599]) {
      expect(liveBuckets(buckets, writtenAt + later * 1_000)).toContain(bucket)
    }
  })
})

describe('request index members', () => {
  it('round-trips a job through its member', () => {
    const member = indexMember('req-1', 'emails', 'job|with|bars')
    expect(parseMember('req-1', member)).toEqual({ queue: 'emails', id: 'job|with|bars' })
  })

  it("bounds a request's range so that no other request's member falls inside it", () => {
    const inRange = (requestId: string, member: string): boolean => {
      const [min, max] = memberRange(requestId)
      return member >= min.slice(1) && member < max.slice(1)
    }
    const ids = ['a', 'a|b', 'a|', 'ab', '1:a', 'a}']
    for (const own of ids) {
      for (const other of ids) {
        expect(inRange(own, indexMember(other, 'q', 'id'))).toBe(own === other)
      }
    }
  })
})
