/**
 * Feeds the seeded Graph simulator's records (no HTTP) to the detectors the way the control runner does: one time
 * slice at a time (an hour of sign-ins, a day of audits or risk detections), sorted ascending by (t, id).
 */
import { DAY_MS, GraphDataset, HOUR_MS, type TenantOptions } from "../../../local/graphSimulator/dataGenerator.js";
import {
  AuditDetectors,
  byTimeThenId,
  DEFAULT_THRESHOLDS,
  RiskDetectors,
  SignInDetectors,
  toAuditRecord,
  toRiskRecord,
  toSignInRecord,
  type AuditRecord,
  type DetectionThresholds,
  type RiskRecord,
  type SignInRecord,
} from "../../../shared/domain/detections/index.js";
import type { Detection } from "../../../shared/domain/finding.js";

export const NOW = Date.parse("2024-09-20T12:00:00Z");

export function makeDataset(seed: number | string, tenants: readonly TenantOptions[], days: number): GraphDataset {
  return new GraphDataset({ seed, nowMs: NOW, days, tenants });
}

/** Every sign-in of the tenant over the data period, as compact records, ascending (t, id), one hour at a time. */
export function* signIns(dataset: GraphDataset, tenantId: string, fromMs = dataset.dataStartMs, toMs = NOW): Generator<SignInRecord> {
  for (let h = Math.floor(fromMs / HOUR_MS); h * HOUR_MS <= toMs; h++) {
    const slice: SignInRecord[] = [];
    for (const { r } of dataset.signInsInHour(tenantId, h)) {
      const record = toSignInRecord(r, "nonInteractiveUser");
      if (!record) throw new Error(`unreadable sign-in ${r.id}`);
      slice.push(record);
    }
    slice.sort(byTimeThenId);
    yield* slice;
  }
}

export function* audits(dataset: GraphDataset, tenantId: string): Generator<AuditRecord> {
  for (let d = Math.floor(dataset.dataStartMs / DAY_MS); d * DAY_MS <= NOW; d++) {
    const slice = dataset.auditsInDay(tenantId, d).map(({ r }) => {
      const record = toAuditRecord(r);
      if (!record) throw new Error(`unreadable audit ${r.id}`);
      return record;
    });
    slice.sort(byTimeThenId);
    yield* slice;
  }
}

export function* risks(dataset: GraphDataset, tenantId: string): Generator<RiskRecord> {
  for (let d = Math.floor(dataset.dataStartMs / DAY_MS); d * DAY_MS <= NOW + 2 * DAY_MS; d++) {
    const slice = dataset.riskDetectionsInDay(tenantId, d).map(({ r }) => {
      const record = toRiskRecord(r);
      if (!record) throw new Error(`unreadable risk detection ${r.id}`);
      return record;
    });
    slice.sort(byTimeThenId);
    yield* slice;
  }
}

export function privilegedOf(dataset: GraphDataset, tenantId: string): string[] {
  return dataset.users(tenantId).filter((u) => u.isAdmin).map((u) => u.id);
}

export interface TenantDetections {
  signIns: Detection[];
  audits: Detection[];
  risks: Detection[];
  signInCount: number;
}

/** Runs the three detectors over a tenant's whole data period without interruption. */
export function detectAll(dataset: GraphDataset, tenantId: string, thresholds: DetectionThresholds = DEFAULT_THRESHOLDS): TenantDetections {
  const s = new SignInDetectors(thresholds, privilegedOf(dataset, tenantId));
  for (const r of signIns(dataset, tenantId)) s.observe(r);
  const a = new AuditDetectors(thresholds);
  for (const r of audits(dataset, tenantId)) a.observe(r);
  const k = new RiskDetectors(thresholds);
  for (const r of risks(dataset, tenantId)) k.observe(r);
  return { signIns: s.finish(), audits: a.finish(), risks: k.finish(), signInCount: s.observed };
}
