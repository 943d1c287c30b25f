import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { deadlineAtRisk, extendPass, followPass, narrowPass, outgrown, settling, startPass, type PassCheckpoint, type PassPlan } from "../../shared/app/reviewPass.js";

const NOW = new Date("2024-09-20T12:00:00Z");
const plan = (overrides: Partial<PassPlan> = {}): PassPlan => ({
  kind: "signins",
  tenantId: "t1",
  windowId: "w1",
  windowStart: "2024-09-02T23:00:00.000Z",
  windowEnd: "2024-09-19T16:00:00.000Z",
  retentionDays: 30,
  detect: true,
  preserve: true,
  privilegedUserIds: [],
  ...overrides,
});

describe("startPass: what of a window can still be read", () => {
  it("a window inside retention is read whole, after a baseline of the days before it", () => {
    const cp = startPass(plan(), NOW, { baselineDays: 7 });
    expect(cp).toMatchObject({
      reviewFrom: "2024-09-02T23:00:00.000Z",
      reviewTo: "2024-09-19T16:00:00.000Z",
      lost: null,
      baselineFrom: "2024-08-26T23:00:00.000Z",
      next: "2024-08-26T23:00:00.000Z",
      segmentFrom: "2024-09-02T23:00:00.000Z",
      preserve: true,
      finished: false,
    });
  });

  it("the baseline stops at the oldest retained hour, and is skipped without detection or with 0 days", () => {
    expect(startPass(plan({ windowStart: "2024-08-23T00:00:00.000Z" }), NOW, { baselineDays: 7 }).baselineFrom).toBe("2024-08-21T12:00:00.000Z");
    expect(startPass(plan(), NOW, { baselineDays: 0 }).baselineFrom).toBeNull();
    expect(startPass(plan({ detect: false }), NOW, { baselineDays: 7 }).baselineFrom).toBeNull();
    expect(startPass(plan({ kind: "audits" }), NOW, { baselineDays: 7 }).baselineFrom).toBeNull();
  });

  it("a Free tenant (7 days) has lost everything before the oldest retained hour, and has no baseline", () => {
    const cp = startPass(plan({ retentionDays: 7 }), NOW, { baselineDays: 7 });
    expect(cp.lost).toEqual({ from: "2024-09-02T23:00:00.000Z", to: "2024-09-13T12:00:00.000Z" });
    expect(cp.reviewFrom).toBe("2024-09-13T12:00:00.000Z");
    expect(cp.baselineFrom).toBeNull();
    expect(cp.next).toBe(cp.reviewFrom);
  });

  it("rounds the retention edge up to a whole hour (the oldest hour may be leaving as it is read)", () => {
    const cp = startPass(plan({ retentionDays: 7 }), new Date("2024-09-20T12:34:56Z"), { baselineDays: 0 });
    expect(cp.reviewFrom).toBe("2024-09-13T13:00:00.000Z");
  });

  it("a window entirely past retention is all lost and nothing is left to read", () => {
    const cp = startPass(plan({ windowStart: "2024-08-01T00:00:00.000Z", windowEnd: "2024-08-05T00:00:00.000Z" }), NOW, { baselineDays: 7 });
    expect(cp.lost).toEqual({ from: "2024-08-01T00:00:00.000Z", to: "2024-08-05T00:00:00.000Z" });
    expect(cp.reviewFrom).toBe(cp.reviewTo);
  });

  it("an open window is read up to what Graph has settled (30 minutes before now by default); risk detections two days past the end (offline detections), never past that", () => {
    const settled = new Date(NOW.getTime() - 30 * 60_000).toISOString();
    expect(startPass(plan({ windowEnd: null }), NOW, { baselineDays: 0 }).reviewTo).toBe(settled);
    expect(startPass(plan({ windowEnd: null }), NOW, { baselineDays: 0, settleMs: 0 }).reviewTo).toBe(NOW.toISOString());
    expect(startPass(plan({ kind: "risks", retentionDays: 90, windowEnd: "2024-09-10T00:00:00.000Z" }), NOW, { baselineDays: 0 }).reviewTo).toBe("2024-09-12T00:00:00.000Z");
    expect(startPass(plan({ kind: "risks", retentionDays: 90 }), NOW, { baselineDays: 0 }).reviewTo).toBe(settled);
    expect(startPass(plan({ kind: "risks", retentionDays: 90 }), NOW, { baselineDays: 0 }).preserve).toBe(false);
  });

  it("a window that ended moments ago is read up to what Graph has settled, and waits for the rest", () => {
    const end = new Date(NOW.getTime() - 10 * 60_000).toISOString();
    const settleMs = 15 * 60_000;
    const first = startPass(plan({ windowEnd: end }), NOW, { baselineDays: 0, settleMs });
    expect(first.reviewTo).toBe(new Date(NOW.getTime() - settleMs).toISOString());
    // Still reading: not waiting. Read to where Graph has settled: waiting until the end has settled.
    expect(settling(first, end, settleMs)).toBeUndefined();
    const read = { ...first, next: first.reviewTo, finished: true };
    expect(settling(read, end, settleMs)).toEqual({ readyAt: new Date(Date.parse(end) + settleMs) });
    // A minute later, one more settled minute; once the end has settled, the rest up to the end, and no more waiting.
    expect(extendPass(read, end, new Date(NOW.getTime() + 60_000), settleMs).reviewTo).toBe(new Date(NOW.getTime() + 60_000 - settleMs).toISOString());
    const rest = extendPass(read, end, new Date(Date.parse(end) + settleMs), settleMs);
    expect(rest).toMatchObject({ segmentFrom: read.reviewTo, reviewTo: end, finished: false });
    expect(settling({ ...rest, next: end, finished: true }, end, settleMs)).toBeUndefined();
    // A window read to its end, and an open one, never wait.
    const whole = { ...startPass(plan({ windowEnd: "2024-09-10T00:00:00.000Z" }), NOW, { baselineDays: 0, settleMs }), finished: true };
    expect(settling(whole, "2024-09-10T00:00:00.000Z", settleMs)).toBeUndefined();
    expect(settling(read, null, settleMs)).toBeUndefined();
  });
});

describe("followPass: an open window read on a step at a time", () => {
  const options = { settleMs: 30 * 60_000, followMs: 6 * 3_600_000 };
  const open = { ...startPass(plan({ windowEnd: null }), NOW, { baselineDays: 0, settleMs: options.settleMs }), finished: true };
  const at = (iso: string) => new Date(iso);
  it("waits for the next step to settle, then reads up to the last whole step Graph has settled", () => {
    expect(open.reviewTo).toBe("2024-09-20T11:30:00.000Z");
    expect(followPass(open, at("2024-09-20T12:00:00Z"), options)).toEqual({ cp: open, readyAt: at("2024-09-20T12:30:00Z") });
    expect(followPass(open, at("2024-09-20T18:29:00Z"), options).cp).toMatchObject({ reviewTo: "2024-09-20T12:00:00.000Z", segmentFrom: open.reviewTo, finished: false });
    // A turn that comes late reads every whole step settled since, in one segment.
    expect(followPass(open, at("2024-09-21T07:00:00Z"), options).cp).toMatchObject({ reviewTo: "2024-09-21T06:00:00.000Z", finished: false });
    const stepped = { ...open, reviewTo: "2024-09-20T18:00:00.000Z" };
    expect(followPass(stepped, at("2024-09-20T19:00:00Z"), options).readyAt).toEqual(at("2024-09-21T00:30:00Z"));
  });
  it("leaves a pass still reading, and one of a window with an end, as they are", () => {
    const reading = { ...open, finished: false };
    expect(followPass(reading, at("2024-09-22T00:00:00Z"), options)).toEqual({ cp: reading });
    const closed = { ...open, windowEnd: "2024-09-20T11:00:00.000Z" };
    expect(followPass(closed, at("2024-09-22T00:00:00Z"), options)).toEqual({ cp: closed });
  });
});

describe("extendPass: a window that grows keeps what was read", () => {
  it("moves the end and starts a new evidence segment where the old one ended", () => {
    const first = { ...startPass(plan({ windowEnd: "2024-09-10T00:00:00.000Z" }), NOW, { baselineDays: 0 }), next: "2024-09-10T00:00:00.000Z", finished: true };
    const grown = extendPass(first, "2024-09-19T16:00:00.000Z", NOW);
    expect(grown).toMatchObject({ reviewTo: "2024-09-19T16:00:00.000Z", segmentFrom: "2024-09-10T00:00:00.000Z", next: "2024-09-10T00:00:00.000Z", finished: false });
    expect(extendPass(first, "2024-09-09T00:00:00.000Z", NOW)).toBe(first);
    // The end it was extended to is recorded: the same end does not extend it again once that segment is read.
    expect(grown.windowEnd).toBe("2024-09-19T16:00:00.000Z");
    expect(outgrown({ ...grown, finished: true, next: grown.reviewTo }, "2024-09-19T16:00:00.000Z")).toBe(false);
  });

  it("leaves a pass still reading as it is (an open window's end moves every turn; its blobs are named by the range)", () => {
    const reading = { ...startPass(plan({ windowEnd: null }), NOW, { baselineDays: 0 }), next: "2024-09-10T00:00:00.000Z" };
    expect(extendPass(reading, null, new Date(NOW.getTime() + 3_600_000))).toBe(reading);
    expect(extendPass(reading, "2024-09-30T00:00:00.000Z", new Date(NOW.getTime() + 86_400_000))).toBe(reading);
  });
});

describe("narrowPass: a window whose end moved earlier is not read past it", () => {
  // Planned for 2 – 19 September 16:00; read up to 9 September, slices in flight to 10 September 06:00.
  const slice = (from: string, to: string): PassCheckpoint["reading"][number] => ({ from, to, baseline: false, streams: [], hours: {}, unreadable: 0, staged: [] });
  const reading0 = startPass(plan(), NOW, { baselineDays: 0 });
  const reading: PassCheckpoint = {
    ...reading0,
    next: "2024-09-09T00:00:00.000Z",
    reading: [slice("2024-09-09T00:00:00.000Z", "2024-09-09T20:00:00.000Z"), slice("2024-09-09T20:00:00.000Z", "2024-09-10T06:00:00.000Z")],
  };
  it("stops at the new end exactly when the pass has not reached that day", () => {
    expect(narrowPass(reading, "2024-09-12T08:00:00.000Z")).toMatchObject({ reviewTo: "2024-09-12T08:00:00.000Z", windowEnd: "2024-09-12T08:00:00.000Z", next: reading.next, reading: reading.reading });
    // A new end at midnight after the slices in flight: nothing of its day is read.
    expect(narrowPass(reading, "2024-09-11T00:00:00.000Z").reviewTo).toBe("2024-09-11T00:00:00.000Z");
  });
  it("keeps the day it has reached (its evidence blob keeps its name) and never gives up what it planned", () => {
    expect(narrowPass(reading, "2024-09-10T08:00:00.000Z").reviewTo).toBe("2024-09-11T00:00:00.000Z");
    expect(narrowPass(reading, "2024-09-05T00:00:00.000Z").reviewTo).toBe("2024-09-11T00:00:00.000Z");
    const idle = { ...reading, next: "2024-09-10T00:00:00.000Z", reading: [] };
    expect(narrowPass(idle, "2024-09-10T00:00:00.000Z").reviewTo).toBe("2024-09-10T00:00:00.000Z");
    expect(narrowPass(idle, "2024-09-08T00:00:00.000Z").reviewTo).toBe("2024-09-10T00:00:00.000Z");
  });
  it("changes nothing for an end that is not earlier, an open window or a finished pass (the same object back)", () => {
    expect(narrowPass(reading, "2024-09-19T16:00:00.000Z")).toBe(reading);
    expect(narrowPass(reading, "2024-09-25T00:00:00.000Z")).toBe(reading);
    expect(narrowPass(reading, null)).toBe(reading);
    expect(narrowPass({ ...reading, finished: true }, "2024-09-12T00:00:00.000Z").reviewTo).toBe(reading.reviewTo);
    // Reached the end of the day it must keep, which is the end it had: nothing changes.
    const late = { ...reading, reviewTo: "2024-09-11T00:00:00.000Z" };
    expect(narrowPass(late, "2024-09-10T08:00:00.000Z")).toBe(late);
  });
  it("property: never below what was planned, never later than before, exact when it can be, and no reached day renamed", () => {
    const HOUR = 3_600_000;
    const DAY = 24 * HOUR;
    const from = Date.parse("2024-09-02T00:00:00.000Z");
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 * 24 }), // window length in hours
        fc.integer({ min: 0, max: 20 * 24 }), // hours consumed (next)
        fc.array(fc.integer({ min: 1, max: 30 }), { maxLength: 3 }), // slices being read after next, in hours
        fc.integer({ min: 0, max: 20 * 24 * 60 }), // the new end, in minutes after the start
        (hours, consumed, slices, endMinutes) => {
          const reviewTo = from + hours * HOUR;
          const next = from + Math.min(consumed, hours) * HOUR;
          const reading: PassCheckpoint["reading"] = [];
          let at = next;
          for (const h of slices) {
            if (at >= reviewTo) break;
            const to = Math.min(reviewTo, at + h * HOUR);
            reading.push(slice(new Date(at).toISOString(), new Date(to).toISOString()));
            at = to;
          }
          const cp: PassCheckpoint = { ...reading0, reviewFrom: new Date(from).toISOString(), segmentFrom: new Date(from).toISOString(), reviewTo: new Date(reviewTo).toISOString(), next: new Date(next).toISOString(), reading };
          const end = from + endMinutes * 60_000;
          const out = narrowPass(cp, new Date(end).toISOString());
          const newTo = Date.parse(out.reviewTo);
          const reach = Math.max(next, at);
          expect(newTo).toBeLessThanOrEqual(reviewTo);
          expect(newTo).toBeGreaterThanOrEqual(Math.min(reviewTo, Math.max(end, reach)));
          expect(out.next).toBe(cp.next);
          expect(out.reading).toEqual(cp.reading);
          // Exact when the new end's day is not reached.
          if (end < reviewTo && end - (end % DAY) >= reach) expect(newTo).toBe(end);
          // Otherwise an end of day (or the old end): every day reached keeps its range, hence its blob name.
          for (let d = from - (from % DAY); d < reach; d += DAY) expect(Math.min(d + DAY, newTo)).toBe(Math.min(d + DAY, reviewTo));
          // Narrowing twice to the same end changes nothing more.
          expect(narrowPass(out, new Date(end).toISOString())).toBe(out);
        },
      ),
    );
  });

  it("a risk pass keeps its two-day tail after the new end", () => {
    const risks = { ...startPass(plan({ kind: "risks", retentionDays: 90 }), NOW, { baselineDays: 0 }), next: "2024-09-03T00:00:00.000Z" };
    expect(narrowPass(risks, "2024-09-10T00:00:00.000Z").reviewTo).toBe("2024-09-12T00:00:00.000Z");
  });
});

describe("outgrown: a finished pass whose window's end moved past what it read", () => {
  const closed = { ...startPass(plan({ windowEnd: "2024-09-10T00:00:00.000Z" }), NOW, { baselineDays: 0 }), finished: true };
  it("reads on when a closed window now ends later than the end the pass was planned for", () => {
    expect(closed.windowEnd).toBe("2024-09-10T00:00:00.000Z");
    expect(outgrown(closed, "2024-09-10T06:00:00.000Z")).toBe(true);
    expect(outgrown(closed, "2024-09-10T00:00:00.000Z")).toBe(false);
    expect(outgrown(closed, "2024-09-09T00:00:00.000Z")).toBe(false);
  });
  it("an open window stops where its pass was planned; a pass planned open reads on once an end is known", () => {
    expect(outgrown(closed, null)).toBe(false);
    const open = { ...startPass(plan({ windowEnd: null }), NOW, { baselineDays: 0 }), finished: true };
    expect(open.windowEnd).toBeNull();
    expect(outgrown(open, null)).toBe(false);
    expect(outgrown(open, "2024-09-19T16:00:00.000Z")).toBe(true);
  });
  it("a checkpoint of an older version (no windowEnd) is never read on", () => {
    const { windowEnd: _omitted, ...older } = closed;
    expect(outgrown(older, "2024-09-30T00:00:00.000Z")).toBe(false);
  });
});

describe("deadlineAtRisk: forecast against retention", () => {
  const base = startPass(plan({ retentionDays: 30 }), NOW, { baselineDays: 0 });
  it("no forecast before anything was read", () => {
    expect(deadlineAtRisk(base, 30, NOW.getTime())).toEqual({ atRisk: false, forecastMs: null });
  });
  it("fast enough: not at risk; too slow for the oldest hours' expiry: at risk", () => {
    // One day of data read in one hour of wall time: 16 days left need 16 hours, the oldest hour expires in ~12 days.
    const read = { ...base, next: "2024-09-03T23:00:00.000Z", windowMsSpent: 3_600_000 };
    expect(deadlineAtRisk(read, 30, NOW.getTime())).toMatchObject({ atRisk: false });
    expect(deadlineAtRisk(read, 30, NOW.getTime()).forecastMs).toBeCloseTo(15.7 * 3_600_000, -5);
    // One day of data per 2 days of wall time: 16 days left need 32 days, past every remaining hour's expiry.
    const slow = { ...read, windowMsSpent: 2 * 86_400_000 };
    expect(deadlineAtRisk(slow, 30, NOW.getTime()).atRisk).toBe(true);
  });
  it("a finished read is never at risk", () => {
    expect(deadlineAtRisk({ ...base, next: base.reviewTo, windowMsSpent: 1e12 }, 30, NOW.getTime()).atRisk).toBe(false);
  });
});
