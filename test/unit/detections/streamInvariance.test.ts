import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DAY_MS } from "../../../local/graphSimulator/dataGenerator.js";
import {
  AuditDetectors,
  DEFAULT_THRESHOLDS,
  DetectionThresholdsSchema,
  RiskDetectors,
  SignInDetectors,
  type DetectionThresholds,
} from "../../../shared/domain/detections/index.js";
import type { Detection } from "../../../shared/domain/finding.js";
import { audits, makeDataset, privilegedOf, risks, signIns } from "./dataset.js";

/**
 * Same records → the same detections, in the same order, wherever drain() and snapshot()/restore() are called
 * (through JSON, as a checkpoint stores them).
 */

interface Detectors<R> {
  learn?(record: R): void;
  observe(record: R): void;
  drain(): Detection[];
  finish(): Detection[];
  snapshot(): unknown;
}

interface Harness<R> {
  records: readonly R[];
  /** Records before this index are baseline (learn), the rest the window (observe). */
  baselineEnd: number;
  create(): Detectors<R>;
  restore(snapshot: unknown): Detectors<R>;
}

function feed<R>(d: Detectors<R>, h: Harness<R>, i: number): void {
  const record = h.records[i] as R;
  if (i < h.baselineEnd && d.learn) d.learn(record);
  else d.observe(record);
}

function uninterrupted<R>(h: Harness<R>): Detection[] {
  const d = h.create();
  for (let i = 0; i < h.records.length; i++) feed(d, h, i);
  return d.finish();
}

function interrupted<R>(h: Harness<R>, cuts: ReadonlySet<number>, drains: ReadonlySet<number>): Detection[] {
  let d = h.create();
  const out: Detection[] = [];
  for (let i = 0; i < h.records.length; i++) {
    if (drains.has(i)) out.push(...d.drain());
    if (cuts.has(i)) {
      const snapshot = d.snapshot();
      const text = JSON.stringify(snapshot);
      const stored: unknown = JSON.parse(text);
      // Plain data: JSON keeps every bit of it.
      expect(stored).toStrictEqual(snapshot);
      d = h.restore(stored);
      expect(JSON.stringify(d.snapshot())).toBe(text);
    }
    feed(d, h, i);
  }
  if (drains.has(h.records.length)) out.push(...d.drain());
  out.push(...d.finish());
  return out;
}

const dataset = makeDataset(11, [{ displayName: "Contoso", users: 25, licence: "free" }], 7);
const tenant = dataset.tenants[0]?.id ?? "";
const privileged = privilegedOf(dataset, tenant);
const signInRecords = [...signIns(dataset, tenant)];
const auditRecords = [...audits(dataset, tenant)];
const riskRecords = [...risks(dataset, tenant)];

/** Default thresholds, and a short merge gap so that many detections close (and drain) mid-stream. */
const VARIANTS: [string, DetectionThresholds][] = [
  ["default thresholds", DEFAULT_THRESHOLDS],
  ["a 30-minute merge gap", DetectionThresholdsSchema.parse({ mergeGapMinutes: 30, minHistorySignIns: 3 })],
];

function signInHarness(thresholds: DetectionThresholds): Harness<(typeof signInRecords)[number]> {
  const firstDay = (signInRecords[0]?.t ?? 0) + DAY_MS;
  return {
    records: signInRecords,
    baselineEnd: signInRecords.findIndex((r) => r.t >= firstDay),
    create: () => new SignInDetectors(thresholds, privileged),
    restore: (s) => SignInDetectors.restore(s, thresholds, privileged),
  };
}

function indexSets(n: number) {
  return fc.record({
    cuts: fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { maxLength: 6 }),
    drains: fc.uniqueArray(fc.integer({ min: 0, max: n }), { maxLength: 25 }),
  });
}

describe.each(VARIANTS)("stream invariance with %s", (_label, thresholds) => {
  it("sign-ins: snapshot/restore and drain at random points give the uninterrupted run's detections", () => {
    const h = signInHarness(thresholds);
    expect(h.baselineEnd).toBeGreaterThan(0);
    const expected = uninterrupted(h);
    expect(expected.length).toBeGreaterThanOrEqual(5);
    fc.assert(
      fc.property(indexSets(h.records.length), ({ cuts, drains }) => {
        expect(interrupted(h, new Set(cuts), new Set(drains))).toStrictEqual(expected);
      }),
      { seed: 20240902, numRuns: 25 },
    );
  });

  it("audits and risk detections: the same, for their detectors", () => {
    const auditHarness: Harness<(typeof auditRecords)[number]> = {
      records: auditRecords,
      baselineEnd: 0,
      create: () => new AuditDetectors(thresholds),
      restore: (s) => AuditDetectors.restore(s, thresholds),
    };
    const riskHarness: Harness<(typeof riskRecords)[number]> = {
      records: riskRecords,
      baselineEnd: 0,
      create: () => new RiskDetectors(thresholds),
      restore: (s) => RiskDetectors.restore(s, thresholds),
    };
    const expectedAudits = uninterrupted(auditHarness);
    const expectedRisks = uninterrupted(riskHarness);
    expect(expectedAudits.length).toBeGreaterThanOrEqual(3);
    expect(expectedRisks.length).toBeGreaterThanOrEqual(2);
    fc.assert(
      fc.property(indexSets(auditHarness.records.length), ({ cuts, drains }) => {
        expect(interrupted(auditHarness, new Set(cuts), new Set(drains))).toStrictEqual(expectedAudits);
      }),
      { seed: 20240919, numRuns: 50 },
    );
    fc.assert(
      fc.property(indexSets(riskHarness.records.length), ({ cuts, drains }) => {
        expect(interrupted(riskHarness, new Set(cuts), new Set(drains))).toStrictEqual(expectedRisks);
      }),
      { seed: 20240919, numRuns: 50 },
    );
  });
});

describe("drain", () => {
  it("hands out each detection once, as soon as the stream has moved a merge gap past it", () => {
    const thresholds = DetectionThresholdsSchema.parse({ mergeGapMinutes: 30 });
    const d = new SignInDetectors(thresholds, privileged);
    const drained: Detection[] = [];
    let early = 0;
    for (const r of signInRecords) {
      d.observe(r);
      const batch = d.drain();
      for (const x of batch) {
        // Final: the stream is already more than the gap past its last record.
        expect(r.t - Date.parse(x.lastSeen)).toBeGreaterThan(30 * 60_000);
        early++;
      }
      drained.push(...batch);
    }
    drained.push(...d.finish());
    expect(early).toBeGreaterThan(0);
    expect(new Set(drained.map((x) => `${x.rule} ${x.subject.id} ${x.firstSeen}`)).size).toBe(drained.length);
    expect(d.drain()).toEqual([]);
  });
});
