/**
 * Newest-first paging over time buckets (hours of sign-ins, days of audits) generated on demand. A page resumes
 * from an opaque `$skiptoken` that names a bucket and a position in it; since buckets regenerate identically, a
 * token stays valid for as long as its records are retained.
 */
import { hashKey } from "./seededRandom.js";
import type { Timed } from "./dataGenerator.js";
import { ODataError } from "./odataFilter.js";

export interface Cursor {
  bucket: number;
  index: number;
}

export interface PageRequest<R> {
  bucketMs: number;
  bucket: (index: number) => readonly Timed<R>[];
  /** Inclusive time range (epoch ms). */
  fromMs: number;
  toMs: number;
  matches: (record: R) => boolean;
  top: number;
  cursor: Cursor | undefined;
  /**
   * Records examined per request at most. A selective filter over a long range then gets a short (even empty)
   * page with a nextLink, as Graph can return; clients must keep following nextLink.
   */
  scanLimit: number;
}

export interface Page<R> {
  items: R[];
  next: Cursor | undefined;
}

export function readPage<R>(request: PageRequest<R>): Page<R> {
  const items: R[] = [];
  const lastBucket = Math.floor(request.fromMs / request.bucketMs);
  let bucket = request.cursor?.bucket ?? Math.floor(request.toMs / request.bucketMs);
  let index = request.cursor?.index ?? 0;
  let scanned = 0;
  if (request.toMs < request.fromMs) return { items, next: undefined };
  for (; bucket >= lastBucket; bucket--, index = 0) {
    const list = request.bucket(bucket);
    for (; index < list.length; index++) {
      const entry = list[index];
      if (!entry) break;
      scanned++;
      if (entry.t > request.toMs) continue;
      if (entry.t < request.fromMs) break;
      if (!request.matches(entry.r)) continue;
      items.push(entry.r);
      if (items.length === request.top) {
        const more = index + 1 < list.length || bucket - 1 >= lastBucket;
        return { items, next: more ? { bucket, index: index + 1 } : undefined };
      }
    }
    if (scanned >= request.scanLimit && bucket - 1 >= lastBucket) {
      return { items, next: { bucket: bucket - 1, index: 0 } };
    }
  }
  return { items, next: undefined };
}

/** Skip tokens bind the cursor to the query it came from, so a token pasted onto another query is refused. */
export function encodeSkipToken(cursor: Cursor, queryKey: string): string {
  return Buffer.from(`${cursor.bucket}.${cursor.index}.${hashKey(queryKey).toString(36)}`).toString("base64url");
}

export function decodeSkipToken(token: string, queryKey: string): Cursor {
  const [bucket, index, check] = Buffer.from(token, "base64url").toString("utf8").split(".");
  const cursor = { bucket: Number(bucket), index: Number(index) };
  if (!Number.isInteger(cursor.bucket) || !Number.isInteger(cursor.index) || cursor.index < 0 || check !== hashKey(queryKey).toString(36)) {
    throw new ODataError("Invalid $skiptoken.");
  }
  return cursor;
}
