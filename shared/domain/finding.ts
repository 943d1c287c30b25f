import { z } from "zod";
import { contentHash } from "./contentHash.js";
import { LogSourceIdSchema } from "./logSource.js";

/**
 * What a review found (DESIGN.md "finding"): a rule, a severity, a subject (user / IP / app), first and last seen,
 * a count and sample record ids. Detectors produce `Detection`s (no tenant or window: they only see records); the
 * control runner turns them into `Finding`s with a deterministic id, so a resumed or repeated review writes the same
 * rows again instead of new ones.
 */

export const SEVERITIES = ["informational", "low", "medium", "high"] as const;
export type Severity = (typeof SEVERITIES)[number];

export const RULE_IDS = [
  // sign-ins
  "password-spray",
  "brute-force-success",
  "mfa-fatigue",
  "impossible-travel",
  "new-country",
  "legacy-auth-success",
  "risky-signin",
  "anonymizer-ip",
  "privileged-new-ip",
  // directory audits
  "role-assignment",
  "consent-grant",
  "app-credential-added",
  "auth-method-change",
  "conditional-access-change",
  "domain-federation-change",
  // risk detections
  "risk-detection",
  // the review itself
  "deadline-at-risk",
  "evidence-lost",
] as const;
export const RuleIdSchema = z.enum(RULE_IDS);
export type RuleId = z.infer<typeof RuleIdSchema>;

export const SUBJECT_KINDS = ["user", "ip", "app", "servicePrincipal", "tenant"] as const;

export const SubjectSchema = z.object({
  kind: z.enum(SUBJECT_KINDS),
  /** Object id, IP address or app id. */
  id: z.string().min(1),
  /** User principal name or display name, when known. */
  name: z.string().optional(),
});
export type Subject = z.infer<typeof SubjectSchema>;

/** At most this many sample record ids are kept per finding. */
export const MAX_SAMPLE_IDS = 10;

export const DetectionSchema = z.object({
  rule: RuleIdSchema,
  severity: z.enum(SEVERITIES),
  subject: SubjectSchema,
  /** One sentence a responder can act on, naming the facts that triggered the rule (counts, IPs, places, times). */
  explanation: z.string().min(1),
  firstSeen: z.string(),
  lastSeen: z.string(),
  count: z.number().int().min(1),
  /** Ids of records that carry the finding (sign-in ids, audit ids, risk detection ids), at most MAX_SAMPLE_IDS. */
  sampleIds: z.array(z.string()).max(MAX_SAMPLE_IDS),
  /** Source IP addresses involved, when the rule has any. */
  ipAddresses: z.array(z.string()).default([]),
});
export type Detection = z.infer<typeof DetectionSchema>;

export const FindingSchema = DetectionSchema.extend({
  id: z.string(),
  tenantId: z.string(),
  windowId: z.string(),
  /** The log source whose records the finding comes from. */
  source: LogSourceIdSchema,
  control: z.enum(["signin-review", "audit-review", "risk-review", "preserve", "hunt-checklist"]),
});
export type Finding = z.infer<typeof FindingSchema>;

/**
 * A finding's id: a hash of what identifies it (tenant, window, rule, subject, first sighting). The same detection
 * from a resumed or repeated run gets the same id.
 */
export function findingId(tenantId: string, windowId: string, detection: Pick<Detection, "rule" | "subject" | "firstSeen">): string {
  return `f${contentHash([tenantId, windowId, detection.rule, detection.subject.kind, detection.subject.id, detection.firstSeen], 24)}`;
}

/**
 * One finding per detection across a tenant's windows. A window re-keyed by a later notice takes its predecessor's
 * findings over under its own id (or finds them again when its review restarted), so the same detection — source,
 * rule, subject, first sighting — can be stored under both windows. The copy of a window that exists (`liveWindowIds`)
 * is kept; a finding only a window that is gone holds is kept too: an attack found is never dropped from a count or a
 * report. Input order is kept.
 */
export function distinctFindings<T extends Pick<Finding, "windowId" | "source" | "rule" | "subject" | "firstSeen">>(findings: readonly T[], liveWindowIds: ReadonlySet<string>): T[] {
  const key = (f: T) => JSON.stringify([f.source, f.rule, f.subject.kind, f.subject.id, f.firstSeen]);
  // Detections a live window holds; a gone window's copy of one is dropped, and of two gone copies the first stands.
  const seen = new Set(findings.filter((f) => liveWindowIds.has(f.windowId)).map(key));
  return findings.filter((f) => {
    if (liveWindowIds.has(f.windowId)) return true;
    const k = key(f);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

const SEVERITY_RANK: Readonly<Record<Severity, number>> = { informational: 0, low: 1, medium: 2, high: 3 };

/** Findings in reading order: most severe first, then oldest first, then by id (stable across runs). */
export function compareFindings(a: Pick<Finding, "severity" | "firstSeen" | "id">, b: Pick<Finding, "severity" | "firstSeen" | "id">): number {
  return SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] || (a.firstSeen < b.firstSeen ? -1 : a.firstSeen > b.firstSeen ? 1 : 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
