import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PassCheckpointSchema, startPass } from "../../shared/app/reviewPass.js";
import { emptyVolume, learnVolume, planSlice, type SliceVolume } from "../../shared/app/sliceVolume.js";

const HOUR = 3_600_000;
const MINUTE = 60_000;
const DAY0 = Date.parse("2024-09-09T00:00:00Z");
const at = (hhmm: string, day = DAY0) => day + Number(hhmm.slice(0, 2)) * HOUR + Number(hhmm.slice(3, 5)) * MINUTE;

/** A working day: 1,000 sign-ins an hour at night, 12,000 from 08:00 to 18:00 UTC. */
function workingDay(): SliceVolume {
  return { perHour: Array.from({ length: 24 }, (_, h) => (h >= 8 && h < 18 ? 12_000 : 1_000)), lastSpanMs: HOUR, surprise: 1 };
}

/** Records the volume predicts for [from, to). */
function predicted(volume: SliceVolume, from: number, to: number): number {
  let n = 0;
  for (let t = from; t < to; ) {
    const end = Math.min(Math.floor(t / HOUR) * HOUR + HOUR, to);
    n += ((volume.perHour[new Date(t).getUTCHours()] ?? 0) * (end - t)) / HOUR;
    t = end;
  }
  return n;
}

describe("planSlice: where the next slice ends", () => {
  it("with nothing read yet, the first slice is an hour, read alone", () => {
    expect(planSlice(emptyVolume(), at("12:00"), at("12:00") + 10 * HOUR, 30_000)).toEqual({ to: at("13:00"), unknown: true });
    expect(planSlice(emptyVolume(), at("12:00"), at("12:20"), 30_000)).toEqual({ to: at("12:20"), unknown: true });
  });

  it("ends where the predicted records reach the target, to the minute, across quiet and busy hours", () => {
    // 00:00–08:00 predicts 8,000, 08:00–09:00 12,000 (20,000), then 10,000 of 09:00's 12,000: 50 minutes.
    expect(planSlice(workingDay(), at("00:00"), at("00:00", DAY0 + 3 * 24 * HOUR), 30_000)).toEqual({ to: at("09:50"), unknown: false });
    // In the busy hours, two and a half hours; at a quarter past, to 10:45.
    expect(planSlice(workingDay(), at("08:15"), at("23:00"), 30_000)).toEqual({ to: at("10:45"), unknown: false });
  });

  it("never goes past the phase's end or a day, and spans at least a minute", () => {
    const quiet: SliceVolume = { perHour: Array.from({ length: 24 }, () => 10), lastSpanMs: HOUR, surprise: 1 };
    expect(planSlice(quiet, at("00:00"), at("00:00") + 5 * 24 * HOUR, 30_000).to).toBe(at("00:00") + 24 * HOUR);
    expect(planSlice(quiet, at("00:00"), at("05:00"), 30_000).to).toBe(at("05:00"));
    const flood: SliceVolume = { perHour: Array.from({ length: 24 }, () => 50_000_000), lastSpanMs: HOUR, surprise: 1 };
    expect(planSlice(flood, at("10:00"), at("11:00"), 30_000).to).toBe(at("10:01"));
  });

  it("hours of day not read yet are predicted at the busiest rate seen, and the slice reaching into them is at most twice the last one", () => {
    const oneHour = learnVolume(emptyVolume(), at("00:00"), at("01:00"), { "2024-09-09T00": 500 });
    // 01:00 is not known: at most 2 × 1 h, read alone.
    expect(planSlice(oneHour, at("01:00"), at("23:00"), 30_000)).toEqual({ to: at("03:00"), unknown: true });
    expect(planSlice({ ...oneHour, lastSpanMs: 3 * HOUR }, at("01:00"), at("23:00"), 30_000)).toEqual({ to: at("07:00"), unknown: true });
    // Predicted at the busiest known rate: 10,000 an hour reaches 30,000 after three hours, inside the cap.
    const busy: SliceVolume = { perHour: oneHour.perHour.map((r, h) => (h === 12 ? 10_000 : r)), lastSpanMs: HOUR, surprise: 1 };
    expect(planSlice({ ...busy, lastSpanMs: 4 * HOUR }, at("13:00"), at("23:00"), 30_000)).toEqual({ to: at("16:00"), unknown: true });
    // A slice that ends in known hours before the unknown ones is not alone.
    expect(planSlice({ ...busy, lastSpanMs: 8 * HOUR }, at("00:00"), at("23:00"), 400)).toEqual({ to: at("00:48"), unknown: false });
  });

  it("property: with every hour of day known, a slice longer than a minute never predicts more than the target", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 200_000 }), { minLength: 24, maxLength: 24 }),
        fc.integer({ min: 0, max: 14 * 24 * 60 }),
        fc.integer({ min: 1, max: 3 * 24 * 60 }),
        fc.integer({ min: 100, max: 200_000 }),
        (rates, startMinute, lengthMinutes, target) => {
          const volume: SliceVolume = { perHour: rates, lastSpanMs: HOUR, surprise: 1 };
          const from = DAY0 + startMinute * MINUTE;
          const limit = from + lengthMinutes * MINUTE;
          const { to, unknown } = planSlice(volume, from, limit, target);
          expect(unknown).toBe(false);
          expect(to).toBeGreaterThan(from);
          expect(to).toBeLessThanOrEqual(Math.min(limit, from + 24 * HOUR));
          if (to - from > MINUTE) expect(predicted(volume, from, to)).toBeLessThanOrEqual(target + 1e-6);
          // It stops early only at the target: a minute more would pass it (or the limit / a day stopped it).
          if (to < Math.min(limit, from + 24 * HOUR)) expect(predicted(volume, from, to + MINUTE)).toBeGreaterThan(target - 1e-6);
        },
      ),
    );
  });
});

describe("learnVolume: the rate of each hour of day", () => {
  it("a slice's hours set their hours of day; part of an hour counts as its rate", () => {
    const v = learnVolume(emptyVolume(), at("06:30"), at("09:00"), { "2024-09-09T06": 300, "2024-09-09T07": 2_000, "2024-09-09T08": 9_000 });
    expect(v.perHour.slice(6, 9)).toEqual([600, 2_000, 9_000]);
    expect(v.perHour.filter((r) => r !== null)).toHaveLength(3);
  });

  it("a busier reading replaces at once; a quieter one lowers a quarter of the way per hour read (a weekend does not reset Monday)", () => {
    let v = learnVolume(emptyVolume(), at("10:00"), at("11:00"), { "2024-09-09T10": 10_000 });
    v = learnVolume(v, at("10:00", DAY0 + 24 * HOUR), at("11:00", DAY0 + 24 * HOUR), { "2024-09-10T10": 2_000 });
    expect(v.perHour[10]).toBe(8_000);
    v = learnVolume(v, at("10:00", DAY0 + 48 * HOUR), at("11:00", DAY0 + 48 * HOUR), { "2024-09-11T10": 20_000 });
    expect(v.perHour[10]).toBe(20_000);
    // Half an hour of a quieter reading lowers half as far: 20,000 → 20,000 − (20,000 − 4,000) × 0.25 × 0.5.
    v = learnVolume(v, at("10:00", DAY0 + 72 * HOUR), at("10:30", DAY0 + 72 * HOUR), { "2024-09-12T10": 2_000 });
    expect(v.perHour[10]).toBe(18_000);
  });

  it("a slice busier than its hours of day predicted makes the next slices shorter by as much, until one comes in as predicted", () => {
    // 12:00 predicted 12,000 and held 24,000: twice as busy. 13:00 onwards is then assumed twice its 12,000.
    let v = learnVolume(workingDay(), at("12:00"), at("13:00"), { "2024-09-09T12": 24_000 });
    expect(v.surprise).toBe(2);
    expect(v.perHour[12]).toBe(24_000);
    expect(planSlice(v, at("13:00"), at("23:00"), 30_000)).toEqual({ to: at("14:15"), unknown: false });
    // 13:00 comes in as its hour of day said: the surprise is over.
    v = learnVolume(v, at("13:00"), at("14:00"), { "2024-09-09T13": 12_000 });
    expect(v.surprise).toBe(1);
    expect(planSlice(v, at("14:00"), at("23:00"), 30_000).to).toBe(at("16:30"));
    // Quieter than predicted never lengthens slices past the profile; a handful of records is noise.
    expect(learnVolume(workingDay(), at("12:00"), at("13:00"), { "2024-09-09T12": 3_000 }).surprise).toBe(1);
    expect(learnVolume({ ...workingDay(), perHour: Array.from({ length: 24 }, () => 0) }, at("12:00"), at("13:00"), { "2024-09-09T12": 60 }).surprise).toBe(1);
  });

  it("a sliver of an hour with few records teaches nothing; empty hours read are a rate of 0", () => {
    const v = learnVolume(emptyVolume(), at("10:57"), at("12:00"), { "2024-09-09T10": 40 });
    expect(v.perHour[10]).toBeNull();
    expect(v.perHour[11]).toBe(0);
    // A sliver with many records does count (a large tenant's one-minute slice).
    expect(learnVolume(emptyVolume(), at("10:00"), at("10:01"), { "2024-09-09T10": 5_000 }).perHour[10]).toBe(300_000);
  });
});

describe("checkpoints", () => {
  it("a new pass starts with nothing learnt; a checkpoint of an older version (no volume) still resumes", () => {
    const cp = startPass(
      { kind: "signins", tenantId: "t", windowId: "w", windowStart: "2024-09-10T00:00:00Z", windowEnd: "2024-09-12T00:00:00Z", retentionDays: 30, detect: true, preserve: false, privilegedUserIds: [] },
      new Date("2024-09-20T00:00:00Z"),
      { baselineDays: 0 },
    );
    expect(cp.volume).toEqual(emptyVolume());
    const older: Record<string, unknown> = { ...cp, sliceHours: 3 };
    delete older.volume;
    const parsed = PassCheckpointSchema.parse(older);
    expect(parsed.volume).toEqual(emptyVolume());
    expect(parsed).not.toHaveProperty("sliceHours");
  });
});
