/**
 * The compact risk detection the detectors read, normalised at the boundary from a Graph `riskDetection`
 * (shape: test/fixtures/microsoft-docs/graph-riskdetection-list-v1-response.json).
 */

import { parseGraphTime } from "./graphTime.js";

export interface RiskRecord {
  id: string;
  /** When Identity Protection detected the risk (the time the review reads risk detections by). */
  detectedDateTime: string;
  /** `detectedDateTime` in epoch milliseconds: the stream's order. */
  t: number;
  /** When the risky activity happened (offline detections come hours later); `detectedDateTime` when absent. */
  activityDateTime: string;
  /** `activityDateTime` in epoch milliseconds. */
  activityT: number;
  riskEventType: string;
  /** "none", "low", "medium", "high", "hidden", … */
  riskLevel: string;
  /** "atRisk", "confirmedCompromised", "remediated", "dismissed", "confirmedSafe", … */
  riskState: string;
  riskDetail: string;
  /** "signin" or "user". */
  activity: string;
  detectionTimingType: string;
  ipAddress: string | null;
  userId: string;
  userPrincipalName: string | null;
  countryOrRegion: string | null;
  city: string | null;
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function nullableStr(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

/**
 * The compact record of a Graph risk detection, or undefined when it lacks `id`, a parseable `detectedDateTime`
 * or `userId` (the caller counts those as unreadable).
 */
export function toRiskRecord(raw: unknown): RiskRecord | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const id = r.id;
  const detected = r.detectedDateTime;
  const userId = r.userId;
  if (typeof id !== "string" || id === "" || typeof detected !== "string" || typeof userId !== "string" || userId === "") return undefined;
  const t = parseGraphTime(detected);
  if (Number.isNaN(t)) return undefined;
  const activityParsed = typeof r.activityDateTime === "string" ? parseGraphTime(r.activityDateTime) : Number.NaN;
  const activityAt = Number.isNaN(activityParsed) ? detected : (r.activityDateTime as string);
  const location = typeof r.location === "object" && r.location !== null ? (r.location as Record<string, unknown>) : undefined;
  return {
    id,
    detectedDateTime: detected,
    t,
    activityDateTime: activityAt,
    activityT: Number.isNaN(activityParsed) ? t : activityParsed,
    riskEventType: str(r.riskEventType),
    riskLevel: str(r.riskLevel),
    riskState: str(r.riskState),
    riskDetail: str(r.riskDetail),
    activity: str(r.activity),
    detectionTimingType: str(r.detectionTimingType),
    ipAddress: nullableStr(r.ipAddress),
    userId,
    userPrincipalName: nullableStr(r.userPrincipalName),
    countryOrRegion: nullableStr(location?.countryOrRegion),
    city: nullableStr(location?.city),
  };
}
