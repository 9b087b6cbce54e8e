// The Redis request index behind `jobs.byRequest`: time buckets of sorted sets, one member per
// job. The requests of one event-loop turn share one ZADD, with no key or TTL per request; a
// bucket gets its TTL once per process.
import type { RequestMember } from './store.js'

/** Buckets of one index: their width follows the retention, so that about 33 exist at once. */
export interface IndexBuckets {
  /** Seconds covered by one bucket. */
  readonly width: number
  /** Seconds an entry is kept at least. */
  readonly ttl: number
}

export function indexBuckets(ttl: number): IndexBuckets {
  return { width: Math.max(60, Math.ceil(ttl / 32)), ttl }
}

/** The bucket number of a moment (ms since the epoch). */
export function bucketOf(buckets: IndexBuckets, nowMs: number): number {
  return Math.floor(nowMs / 1_000 / buckets.width)
}

/** When a bucket may go: `ttl` after its last entry could have been written (seconds). */
export function bucketExpiry(buckets: IndexBuckets, bucket: number): number {
  return (bucket + 1) * buckets.width + buckets.ttl
}

/** Every bucket that can still hold entries at `nowMs`, oldest first. */
export function liveBuckets(buckets: IndexBuckets, nowMs: number): number[] {
  const last = bucketOf(buckets, nowMs)
  const first = bucketOf(buckets, nowMs - buckets.ttl * 1_000) - 1
  return Array.from({ length: last - first + 1 }, (_, i) => first + i)
}

// All members have score 0, so a request's members are one lexicographic range: the ones that
// start with its prefix. The length in front keeps ids that contain '|' from matching others.
const requestPrefix = (requestId: string): string => `${requestId.length}:${requestId}|`

/** The member that lists one job of a request. */
export function indexMember(requestId: string, queue: string, jobId: string): string {
  return `${requestPrefix(requestId)}${queue}|${jobId}`
}

/** `ZRANGEBYLEX` bounds of a request's members: its prefix, up to the prefix with '|' + 1. */
export function memberRange(requestId: string): [min: string, max: string] {
  const prefix = requestPrefix(requestId)
  return [`[${prefix}`, `(${prefix.slice(0, -1)}}`]
}

/** The job a member lists. */
export function parseMember(requestId: string, member: string): RequestMember {
  const rest = member.slice(requestPrefix(requestId).length)
  const at = rest.indexOf('|')
  return { queue: rest.slice(0, at), id: rest.slice(at + 1) }
}
