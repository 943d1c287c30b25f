import { describe, expect, it } from "vitest";
import { DEFAULT_THRESHOLDS, SignInDetectors } from "../../../shared/domain/detections/index.js";
import { makeDataset, privilegedOf, signIns } from "./dataset.js";

describe("memory", () => {
  it("stays flat in the number of records: the state after 200,000 sign-ins is no larger than ~1.3× the state after 50,000", () => {
    // One tenant of 1,000 users with every planted attack: ~21,000 sign-ins a day, so 200,000 is about ten days.
    const dataset = makeDataset(5, [{ displayName: "Big", users: 1000, licence: "p2" }], 12);
    const tenant = dataset.tenants[0]?.id ?? "";
    const d = new SignInDetectors(DEFAULT_THRESHOLDS, privilegedOf(dataset, tenant));
    const sizes = new Map<number, number>();
    let detections = 0;
    for (const r of signIns(dataset, tenant)) {
      d.observe(r);
      if (d.observed % 10_000 === 0) detections += d.drain().length;
      if (d.observed === 50_000 || d.observed === 200_000) sizes.set(d.observed, JSON.stringify(d.snapshot()).length);
      if (d.observed === 200_000) break;
    }
    const at50k = sizes.get(50_000) ?? Number.NaN;
    const at200k = sizes.get(200_000) ?? Number.NaN;
    expect(d.observed).toBe(200_000);
    expect(at200k / at50k).toBeLessThanOrEqual(1.3);
    // What is kept is per user (1,000 of them), not per record.
    expect(at200k / 1000).toBeLessThan(1000);
    expect(detections + d.finish().length).toBeGreaterThan(0);
  });
});
