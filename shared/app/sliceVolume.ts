import { z } from "zod";

/**
 * How long the next review slice should be, from the volume the review has read so far.
 *
 * A slice's records are held until the whole slice is read (Graph sends newest first; the detectors need oldest
 * first), so a slice's record count is the review's memory. Sign-in volume swings twelvefold over a working day and
 * threefold between a weekend and a Monday: sizing the next slice from the last one's rate (what the review did
 * first) cut night-time slices of ten hours that ran into the morning peak and held four times the target. The
 * volume is therefore learnt per UTC hour of day — the rate that hour of day last had, lowered only part way by a
 * quieter reading (a weekend does not shrink Monday's estimate to Sunday's), raised at once by a busier one — and a
 * slice ends where the predicted records reach the target, to the minute. When the last slice read held more than
 * its hours of day predicted (the first Monday after a weekend, an incident's burst of sign-ins), the next slices
 * assume the same surprise until a slice comes in as predicted.
 *
 * Hours of day not read yet (the first day of a review without a baseline) are predicted at the busiest rate seen,
 * and a slice reaching into them is at most twice as long as the slice before it and is read alone (nothing planned
 * ahead of it), so a ramp from night into the morning peak overshoots one slice, not every slice in flight.
 */

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** A quieter reading moves an hour of day's rate this far toward it (per whole hour read). */
const LOWER_BY = 0.25;
/** Readings of less than this part of an hour, with fewer records than READING_RECORDS, are too noisy to learn from. */
const READING_MIN_PART = 0.1;
const READING_RECORDS = 1000;
/** The surprise is measured on slices of at least this many records (fewer are noise) and capped. */
const SURPRISE_RECORDS = 100;
const MAX_SURPRISE = 8;
/** A slice spans at least a minute and at most a day. */
const MIN_SPAN_MS = MINUTE_MS;
const MAX_SPAN_MS = DAY_MS;

export const SliceVolumeSchema = z.object({
  /** Records per hour for each UTC hour of day (index 0–23), null until an hour of that time of day is read. */
  perHour: z.array(z.number().nonnegative().nullable()).length(24),
  /** Span of the last slice planned (ms): a slice into hours of day not read yet is at most twice as long. */
  lastSpanMs: z.number().positive(),
  /** How many times busier than its hours of day predicted the last slice read was (1 when not busier). */
  surprise: z.number().min(1),
});
export type SliceVolume = z.infer<typeof SliceVolumeSchema>;

export function emptyVolume(): SliceVolume {
  return { perHour: Array.from({ length: 24 }, () => null), lastSpanMs: HOUR_MS, surprise: 1 };
}

const hourOfDay = (ms: number) => new Date(ms).getUTCHours();
const floorHour = (ms: number) => Math.floor(ms / HOUR_MS) * HOUR_MS;

/** The busiest hour of day's rate so far (what unknown hours of day are predicted at), or null with none read. */
function busiestRate(volume: SliceVolume): number | null {
  const known = volume.perHour.filter((r): r is number => r !== null);
  return known.length > 0 ? Math.max(...known) : null;
}

/**
 * The volume after reading the slice [from, to): `hourly` counts its records by UTC hour (`YYYY-MM-DDTHH`). Each hour
 * the slice overlaps is a reading of that hour of day's rate (count ÷ part of the hour read).
 */
export function learnVolume(volume: SliceVolume, from: number, to: number, hourly: Readonly<Record<string, number>>): SliceVolume {
  const perHour = [...volume.perHour];
  const busiest = busiestRate(volume);
  let predicted = 0;
  let actual = 0;
  for (let h = floorHour(from); h < to; h += HOUR_MS) {
    const part = (Math.min(to, h + HOUR_MS) - Math.max(from, h)) / HOUR_MS;
    const count = hourly[new Date(h).toISOString().slice(0, 13)] ?? 0;
    const hod = hourOfDay(h);
    predicted += (volume.perHour[hod] ?? busiest ?? 0) * part;
    actual += count;
    if (part < READING_MIN_PART && count < READING_RECORDS) continue;
    const rate = count / part;
    const old = perHour[hod] ?? null;
    perHour[hod] = old === null || rate >= old ? rate : old - (old - rate) * LOWER_BY * part;
  }
  const surprise = busiest === null || actual < SURPRISE_RECORDS ? volume.surprise : Math.min(MAX_SURPRISE, Math.max(1, predicted > 0 ? actual / predicted : MAX_SURPRISE));
  return { perHour, lastSpanMs: volume.lastSpanMs, surprise };
}

export interface SlicePlan {
  /** End of the slice (exclusive, epoch ms). */
  to: number;
  /** The slice reaches into hours of day not read yet: read it alone. */
  unknown: boolean;
}

/**
 * The slice that starts at `from`: it ends where the predicted records reach `targetRecords` (rounded down to a
 * whole minute), after at most a day, at `limit` (the end of the phase), and — when it reaches into hours of day not
 * read yet — at most twice the last slice's span after `from`. With nothing read yet, the first slice is an hour.
 */
export function planSlice(volume: SliceVolume, from: number, limit: number, targetRecords: number): SlicePlan {
  const busiest = busiestRate(volume);
  if (busiest === null) return { to: Math.min(from + HOUR_MS, limit), unknown: true };
  let end = Math.min(from + MAX_SPAN_MS, limit);
  let unknown = false;
  let expected = 0;
  let t = from;
  while (t < end) {
    const rate = volume.perHour[hourOfDay(t)] ?? null;
    if (rate === null && !unknown) {
      const capped = Math.min(end, from + Math.max(HOUR_MS, 2 * volume.lastSpanMs));
      if (t >= capped) {
        end = capped;
        break;
      }
      unknown = true;
      end = capped;
    }
    const segmentEnd = Math.min(floorHour(t) + HOUR_MS, end);
    const perMs = ((rate ?? busiest) * volume.surprise) / HOUR_MS;
    const segment = perMs * (segmentEnd - t);
    if (expected + segment >= targetRecords && perMs > 0) {
      end = t + (targetRecords - expected) / perMs;
      break;
    }
    expected += segment;
    t = segmentEnd;
  }
  const to = Math.min(limit, Math.max(Math.floor(end / MINUTE_MS) * MINUTE_MS, from + MIN_SPAN_MS));
  return { to, unknown };
}
