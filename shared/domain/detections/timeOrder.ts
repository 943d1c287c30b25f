/**
 * Records of one slice in the order the detectors require — ascending (t, id) — from its streams as Graph sent them.
 *
 * Graph lists sign-ins newest first ("by default, the most recent sign-ins are returned first", List signIns), so a
 * stream read page after page is already in order, backwards. Reversing it, putting records of the same instant in
 * id order, and merging the streams (v1.0 interactive, beta others) is linear, where sorting the whole slice cost
 * about 15 comparisons per record. A stream in any other order (nothing documents the order of directory audits or
 * risk detections, and a service may change its own) is sorted whole: the result never depends on Graph's order.
 */

export interface Timed {
  /** Epoch milliseconds. */
  t: number;
  id: string;
}

export function byTimeThenId(a: Timed, b: Timed): number {
  return a.t - b.t || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Runs of one instant are short (sub-second timestamps); longer ones are sorted the ordinary way. */
const INSERTION_MAX = 16;

/** Sorts records[from, to) that share one timestamp by id. */
function sortInstant(records: Timed[], from: number, to: number): void {
  if (to - from > INSERTION_MAX) {
    const run = records.slice(from, to).sort(byTimeThenId);
    for (let i = 0; i < run.length; i++) records[from + i] = run[i] as Timed;
    return;
  }
  for (let i = from + 1; i < to; i++) {
    const record = records[i] as Timed;
    let j = i - 1;
    while (j >= from && (records[j] as Timed).id > record.id) {
      records[j + 1] = records[j] as Timed;
      j--;
    }
    records[j + 1] = record;
  }
}

/** The stream in ascending (t, id) order, in place. */
function ascending<T extends Timed>(stream: T[]): T[] {
  const n = stream.length;
  for (let i = 1; i < n; i++) {
    if ((stream[i - 1] as T).t < (stream[i] as T).t) return stream.sort(byTimeThenId);
  }
  stream.reverse();
  let start = 0;
  for (let i = 1; i <= n; i++) {
    if (i === n || (stream[i] as T).t !== (stream[start] as T).t) {
      if (i - start > 1) sortInstant(stream, start, i);
      start = i;
    }
  }
  return stream;
}

function merge<T extends Timed>(a: readonly T[], b: readonly T[]): T[] {
  const out = new Array<T>(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as T;
    const y = b[j] as T;
    if (byTimeThenId(x, y) <= 0) {
      out[k++] = x;
      i++;
    } else {
      out[k++] = y;
      j++;
    }
  }
  while (i < a.length) out[k++] = a[i++] as T;
  while (j < b.length) out[k++] = b[j++] as T;
  return out;
}

/**
 * The records of `streams` (each as received, usually newest first) in ascending (t, id) order. Reorders the stream
 * arrays in place; returns one array (one of them when only one is non-empty).
 */
export function inTimeOrder<T extends Timed>(streams: readonly T[][]): T[] {
  let result: T[] | undefined;
  for (const stream of streams) {
    if (stream.length === 0) continue;
    const sorted = ascending(stream);
    result = result === undefined ? sorted : merge(result, sorted);
  }
  return result ?? [];
}
