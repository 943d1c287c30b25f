import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGraphSimulator, type GraphSimulator } from "../../local/graphSimulator/startGraphSimulator.js";
import { createGraphClientFactory } from "../../shared/adapters/graph/graphClientFactory.js";
import { GraphReviewSource } from "../../shared/adapters/graph/graphReviewSource.js";
import { ThrottleBudget } from "../../shared/adapters/graph/throttleBudget.js";
import { advancePass, DEFAULT_PASS_OPTIONS, startPass, type PassCheckpoint } from "../../shared/app/reviewPass.js";
import type { ReviewSource } from "../../shared/app/reviewSource.js";
import { loadSettings } from "../../shared/config.js";

/**
 * Slice sizes are the review's memory (a slice's records are held until it is read whole). Sign-ins swing from a
 * quiet night to a busy morning and from a weekend to a Monday: the slices must follow, whatever the volume.
 */
const NOW = "2024-09-20T12:00:00Z";
const TARGET = 500;
// Thursday noon to Thursday noon: working days, a weekend and a Monday, each with its night and its morning peak.
const FROM = "2024-09-12T12:00:00.000Z";
const TO = "2024-09-19T12:00:00.000Z";

interface SliceRead {
  from: number;
  to: number;
  records: number;
}

describe("review slices follow the volume (throttling off)", () => {
  let sim: GraphSimulator;
  beforeAll(async () => {
    sim = await startGraphSimulator({ seed: 11, now: NOW, days: 9, throttling: false, tenants: [{ displayName: "Diurnal", licence: "p2", users: 120, attacks: [] }], nonInteractivePerUserPerDay: 40 });
  });
  afterAll(async () => {
    await sim.close();
  });

  it("after the first day no slice holds more than 1.6 × the target, nights and mornings alike; slices into unknown hours run alone", async () => {
    const tenantId = sim.tenants[0]?.id ?? "";
    const graph = createGraphClientFactory(loadSettings({ BLINDWINDOW_GRAPH_BASE_URL: sim.url }), { budget: new ThrottleBudget({ timeScale: 1e9 }) });
    // Watches which slices are being fetched at once (a slice reads its streams one after the other).
    const inner = new GraphReviewSource(graph);
    // Slices being fetched (a slice reads its v1.0 stream, then its beta stream), and how many others were being
    // fetched when each first-day slice started.
    let fetching = 0;
    const alongsideOnFirstDay: number[] = [];
    const source: ReviewSource = {
      async *pages(tenant, stream, from, to, select, resume) {
        if (stream === "signIns:v1.0") {
          if (from.getTime() > Date.parse(FROM) && from.getTime() < Date.parse(FROM) + 24 * 3_600_000) alongsideOnFirstDay.push(fetching);
          fetching++;
        }
        try {
          yield* inner.pages(tenant, stream, from, to, select, resume);
        } finally {
          if (stream === "signIns:beta") fetching--;
        }
      },
      describe: (stream, from, to, select) => inner.describe(stream, from, to, select),
      privilegedUserIds: (tenant) => inner.privilegedUserIds(tenant),
      throttledSoFar: () => inner.throttledSoFar(),
    };

    const slices: SliceRead[] = [];
    let last: PassCheckpoint = startPass({ kind: "signins", tenantId, windowId: "w", windowStart: FROM, windowEnd: TO, retentionDays: 30, detect: true, preserve: false, privilegedUserIds: [] }, new Date(NOW), { baselineDays: 0 });
    const result = await advancePass({ source, stopwatch: () => performance.now() }, last, {
      options: { ...DEFAULT_PASS_OPTIONS, sliceTargetRecords: TARGET, baselineDays: 0 },
      stopAtMs: Number.POSITIVE_INFINITY,
      onCheckpoint: (cp) => {
        const total = (c: PassCheckpoint) => Object.values(c.recordsRead).reduce((a, b) => a + b, 0);
        slices.push({ from: Date.parse(last.next), to: Date.parse(cp.next), records: total(cp) - total(last) });
        last = cp;
        return Promise.resolve(true);
      },
    });

    expect(result.finished).toBe(true);
    const records = slices.reduce((a, s) => a + s.records, 0);
    expect(records).toBeGreaterThan(40 * TARGET);
    // The slices cover the window end to end.
    expect(slices[0]?.from).toBe(Date.parse(FROM));
    expect(slices.at(-1)?.to).toBe(Date.parse(TO));
    for (let i = 1; i < slices.length; i++) expect(slices[i]?.from).toBe(slices[i - 1]?.to);
    // Slices span from minutes (mornings) to many hours (nights): lengths follow the volume.
    const hours = slices.slice(0, -1).map((s) => (s.to - s.from) / 3_600_000);
    expect(Math.max(...hours) / Math.min(...hours)).toBeGreaterThan(2.5);
    // After the first day every hour of day is known: no slice far past the target (noise, and a Monday busier than
    // the weekend that lowered its hours' rates).
    const later = slices.filter((s) => s.from >= Date.parse(FROM) + 24 * 3_600_000);
    expect(later.length).toBeGreaterThan(20);
    expect(Math.max(...later.map((s) => s.records))).toBeLessThanOrEqual(1.6 * TARGET);
    // The first day's hours of day are guesses: each slice into them was fetched with nothing beside it.
    expect(alongsideOnFirstDay.length).toBeGreaterThan(4);
    expect(alongsideOnFirstDay.filter((n) => n > 0)).toEqual([]);
  });
});
