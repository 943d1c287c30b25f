/**
 * Microsoft payloads carry timestamps with 7 fractional digits ("2017-10-18T02:48:00.0000000Z") and offsets
 * ("+00:00"). Everything we store is a plain ISO instant with milliseconds and `Z`.
 */
const ISO_LIKE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$/i;

/** Normalises an ISO-8601 timestamp to `YYYY-MM-DDTHH:mm:ss.sssZ`; undefined for anything else. */
export function toInstant(value: string): string | undefined {
  const trimmed = value.trim();
  if (!ISO_LIKE.test(trimmed)) return undefined;
  // Date.parse handles up to millisecond precision; drop extra fractional digits first.
  const truncated = trimmed.replace(/(\.\d{3})\d+/, "$1");
  const hasZone = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(truncated);
  const ms = Date.parse(hasZone || truncated.length === 10 ? truncated : `${truncated}Z`);
  if (Number.isNaN(ms)) return undefined;
  // An offset can push 9999-12-31 into year 10000 ("+010000-…"), which is no ISO 8601 instant of four-digit years.
  const iso = new Date(ms).toISOString();
  return /^\d{4}-/.test(iso) ? iso : undefined;
}
