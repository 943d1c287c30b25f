import { z } from "zod";
import { contentHash } from "../contentHash.js";
import type { Detection, RuleId, Severity, Subject } from "../finding.js";
import {
  AggregationBook,
  BookSnapshotSchema,
  CursorSnapshotSchema,
  StreamCursor,
  configDigestInput,
  listOf,
  severityOfRank,
  severityRank,
  utcRange,
  type Aggregation,
} from "./aggregation.js";
import type { AuditActor, AuditRecord, AuditTarget } from "./auditRecord.js";
import type { AuditActivity, DetectionThresholds } from "./thresholds.js";

/**
 * The directory-audit rules. Each matches activities (`activityDisplayName` and `category`, listed in the
 * thresholds with the severity a match carries) of successful audits (`auditResults`), and aggregates per subject:
 *
 * | rule | subject | severity |
 * |---|---|---|
 * | role-assignment | the principal that received the role (user or service principal; the actor otherwise) | from the activity list: high |
 * | consent-grant | the service principal (app) consented to | medium; high for admin consent or a scope in `consentHighRiskScopes` |
 * | app-credential-added | the service principal or application that got the credential | high for a service principal, medium for an application |
 * | auth-method-change | the user whose methods or password changed | low for a user's own registration, medium otherwise |
 * | conditional-access-change | the actor (user or app) | medium; high for a deletion |
 * | domain-federation-change | the actor (user or app) | high for federation settings, medium for adding or verifying a domain |
 *
 * A detection's severity is the highest of its audits'. Activity names are compared case-insensitively with runs of
 * whitespace collapsed and dashes unified: Graph sends "Update application – Certificates and secrets management "
 * with an en dash and a trailing space.
 */

const MINUTE_MS = 60_000;
const AUDIT_RULES = [
  ["role-assignment", "roleAssignmentActivities"],
  ["consent-grant", "consentActivities"],
  ["app-credential-added", "appCredentialActivities"],
  ["auth-method-change", "authMethodActivities"],
  ["conditional-access-change", "conditionalAccessActivities"],
  ["domain-federation-change", "domainFederationActivities"],
] as const satisfies readonly (readonly [RuleId, keyof DetectionThresholds])[];

type AuditRule = (typeof AUDIT_RULES)[number][0];

/** Lower-case, every dash a hyphen-minus, runs of whitespace one space, trimmed. */
export function normaliseActivity(text: string): string {
  return text
    .toLowerCase()
    .replace(/[\u2010-\u2015\u2212]/g, "-")
    .replace(/\s+/g, " ")
    .trim();
}

interface Matcher {
  rule: AuditRule;
  category: string | undefined;
  severity: Severity;
}

const ZERO_GUID = "00000000-0000-0000-0000-000000000000";

function actorSubject(actor: AuditActor): Subject {
  if (actor.userId !== "" && actor.userId !== ZERO_GUID) {
    return actor.userPrincipalName ? { kind: "user", id: actor.userId, name: actor.userPrincipalName } : { kind: "user", id: actor.userId };
  }
  const name = actor.appDisplayName ? { name: actor.appDisplayName } : {};
  if (actor.servicePrincipalId) return { kind: "servicePrincipal", id: actor.servicePrincipalId, ...name };
  if (actor.appId) return { kind: "app", id: actor.appId, ...name };
  // Graph writes the zero GUID for system actions; keep it rather than invent an actor.
  return { kind: "user", id: actor.userId !== "" ? actor.userId : ZERO_GUID, name: "an unattributed actor" };
}

function actorName(actor: AuditActor): string {
  return actor.userPrincipalName ?? actor.appDisplayName ?? (actor.userId !== "" ? actor.userId : "an unattributed actor");
}

function targetSubject(target: AuditTarget): Subject | undefined {
  if (target.id === "") return undefined;
  const type = target.type.toLowerCase();
  const name = target.userPrincipalName ?? target.displayName;
  const named = name ? { name } : {};
  if (type === "user") return { kind: "user", id: target.id, ...named };
  if (type === "serviceprincipal") return { kind: "servicePrincipal", id: target.id, ...named };
  if (type === "application") return { kind: "app", id: target.id, ...named };
  return undefined;
}

function targetName(target: AuditTarget): string {
  return target.userPrincipalName ?? target.displayName ?? target.id;
}

/** A modified property's value without the JSON quotes Graph wraps strings in (`"\"Global Administrator\""`). */
function unquote(value: string | null): string | null {
  if (value === null) return null;
  const trimmed = value.trim();
  return trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"') ? trimmed.slice(1, -1) : trimmed;
}

function property(record: AuditRecord, name: string): { oldValue: string | null; newValue: string | null } | undefined {
  const wanted = name.toLowerCase();
  for (const target of record.targets) {
    for (const p of target.modifiedProperties) if (p.displayName.toLowerCase() === wanted) return p;
  }
  return undefined;
}

function keyIds(value: string | null): Set<string> {
  return new Set([...(value ?? "").matchAll(/KeyIdentifier=([0-9a-fA-F-]+)/g)].map((m) => (m[1] ?? "").toLowerCase()));
}

/**
 * Whether an application or service-principal update added a credential: a `KeyDescription` whose new value names a
 * key identifier the old one did not. Without that property the audit cannot tell, and counts as an addition.
 */
function addsCredential(record: AuditRecord): boolean {
  const keys = property(record, "KeyDescription");
  if (!keys) return true;
  const before = keyIds(keys.oldValue);
  for (const id of keyIds(keys.newValue)) if (!before.has(id)) return true;
  return false;
}

/** Scopes granted by a consent audit (delegated `Scope: …` and app-role values). */
function consentScopes(record: AuditRecord): string[] {
  const out: string[] = [];
  const permissions = property(record, "ConsentAction.Permissions")?.newValue ?? "";
  for (const m of permissions.matchAll(/Scope:\s*([^\],]*)/g)) out.push(...(m[1] ?? "").split(/[\s,]+/));
  const delegated = unquote(property(record, "DelegatedPermissionGrant.Scope")?.newValue ?? null);
  if (delegated) out.push(...delegated.split(/\s+/));
  const appRole = unquote(property(record, "AppRole.Value")?.newValue ?? null);
  if (appRole) out.push(appRole);
  return out.filter((s) => s !== "");
}

const AuditSnapshotSchema = z.strictObject({
  kind: z.literal("audit-detectors"),
  version: z.literal(1),
  config: z.string(),
  observed: z.number().int().min(0),
  cursor: CursorSnapshotSchema,
  finished: z.boolean(),
  book: BookSnapshotSchema,
});
type AuditSnapshot = z.infer<typeof AuditSnapshotSchema>;

export class AuditDetectors {
  private readonly thresholds: DetectionThresholds;
  private readonly config: string;
  private readonly matchers = new Map<string, Matcher[]>();
  private readonly results: ReadonlySet<string>;
  private readonly highRiskScopes: ReadonlySet<string>;
  private readonly cursor = new StreamCursor();
  private readonly book: AggregationBook;
  private observedCount = 0;
  private finished = false;

  constructor(thresholds: DetectionThresholds) {
    this.thresholds = thresholds;
    this.config = contentHash(configDigestInput("audit", thresholds), 16);
    for (const [rule, field] of AUDIT_RULES) {
      for (const entry of thresholds[field] as readonly AuditActivity[]) {
        const key = normaliseActivity(entry.activity);
        const list = this.matchers.get(key) ?? [];
        list.push({ rule, category: entry.category?.trim().toLowerCase(), severity: entry.severity });
        this.matchers.set(key, list);
      }
    }
    this.results = new Set(thresholds.auditResults.map((r) => r.toLowerCase()));
    this.highRiskScopes = new Set(thresholds.consentHighRiskScopes.map((s) => s.toLowerCase()));
    this.book = new AggregationBook(thresholds.mergeGapMinutes * MINUTE_MS, (a) => this.render(a));
  }

  /** Records observed so far. */
  get observed(): number {
    return this.observedCount;
  }

  /** Audits in ascending (t, id) order. Out-of-order input throws a RangeError; an immediate repeat is skipped. */
  observe(record: AuditRecord): void {
    if (this.finished) throw new Error("the audit detectors are finished: restore a snapshot taken before finish() to go on");
    if (!this.cursor.accept(record.t, record.id)) return;
    this.observedCount++;
    this.book.advance(record.t);
    if (!this.results.has(record.result.toLowerCase())) return;
    const candidates = this.matchers.get(normaliseActivity(record.activityDisplayName));
    if (!candidates) return;
    const category = record.category.trim().toLowerCase();
    const fired = new Set<AuditRule>();
    for (const m of candidates) {
      if (fired.has(m.rule) || (m.category !== undefined && m.category !== category)) continue;
      fired.add(m.rule);
      this.hit(m, record);
    }
  }

  /** Detections that can no longer change, completed since the last drain. */
  drain(): Detection[] {
    if (Number.isFinite(this.cursor.t)) this.book.advance(this.cursor.t);
    return this.book.take();
  }

  /** Ends the stream: closes every open aggregation and returns the remaining detections. */
  finish(): Detection[] {
    this.finished = true;
    this.book.closeAll();
    return this.book.take();
  }

  private hit(m: Matcher, record: AuditRecord): void {
    const actor = record.initiatedBy;
    let severity = m.severity;
    let subject: Subject;
    const extra: [string, string][] = [];
    switch (m.rule) {
      case "role-assignment": {
        const principal = record.targets.map(targetSubject).find((s) => s && s.kind !== "app");
        subject = principal ?? actorSubject(actor);
        const role = record.targets.find((t) => t.type.toLowerCase() === "role")?.displayName ?? unquote(property(record, "Role.DisplayName")?.newValue ?? null);
        if (role) extra.push(["roles", role]);
        break;
      }
      case "consent-grant": {
        const app = record.targets.find((t) => t.type.toLowerCase() === "serviceprincipal" && t.id !== "");
        subject = app ? { kind: "servicePrincipal", id: app.id, ...(app.displayName ? { name: app.displayName } : {}) } : actorSubject(actor);
        const scopes = consentScopes(record);
        for (const scope of scopes) extra.push(["scopes", scope]);
        const admin = /true/i.test(property(record, "ConsentContext.IsAdminConsent")?.newValue ?? "");
        if (admin) extra.push(["flags", "admin consent for the whole tenant"]);
        if (admin || scopes.some((s) => this.highRiskScopes.has(s.toLowerCase()))) severity = "high";
        break;
      }
      case "app-credential-added": {
        if (!addsCredential(record)) return;
        const target = record.targets.map(targetSubject).find((s) => s && s.kind !== "user");
        subject = target ?? actorSubject(actor);
        const key = unquote(property(record, "KeyDescription")?.newValue ?? null);
        const type = /KeyType=(\w+)/.exec(key ?? "")?.[1];
        if (type) extra.push(["keyTypes", type]);
        break;
      }
      case "auth-method-change": {
        const user = record.targets.map(targetSubject).find((s) => s?.kind === "user");
        subject = user ?? actorSubject(actor);
        break;
      }
      case "conditional-access-change":
      case "domain-federation-change": {
        subject = actorSubject(actor);
        for (const t of record.targets) if (t.displayName) extra.push(["objects", t.displayName]);
        break;
      }
    }
    const aggregation = this.book.hit(m.rule, subject, record.t, record.t, record.t);
    aggregation.addRecord(record.id);
    aggregation.addIp(actor.ipAddress);
    aggregation.tag("activities", record.activityDisplayName.trim());
    aggregation.tag("actors", actorName(actor));
    for (const t of record.targets) if (t.type.toLowerCase() !== "role") aggregation.tag("targets", targetName(t));
    for (const [key, value] of extra) aggregation.tag(key, value);
    aggregation.max("severity", severityRank(severity));
  }

  private render(a: Aggregation): { severity: Severity; explanation: string } {
    const severity = severityOfRank(a.num("severity"));
    const who = a.subject.name ?? a.subject.id;
    const by = listOf(a.values("actors"), 3);
    const when = utcRange(a.firstT, a.lastT);
    const activities = listOf(a.values("activities"), 3);
    const from = a.ips.length > 0 ? ` from ${listOf(a.ips, 3)}` : "";
    const events = a.count > 1 ? ` (${a.count} audit events)` : "";
    switch (a.rule) {
      case "role-assignment": {
        const roles = a.values("roles");
        return { severity, explanation: `${by} gave ${who} ${roles.length > 0 ? `the role ${listOf(roles)}` : "a directory role"} (${activities})${from}${events} ${when}.` };
      }
      case "consent-grant": {
        const scopes = a.values("scopes");
        const flags = a.values("flags");
        return {
          severity,
          explanation: `${by} granted the application ${who} ${scopes.length > 0 ? `the permissions ${listOf(scopes, 8, a.size("scopes"))}` : "permissions"}${flags.length > 0 ? ` (${flags.join(", ")})` : ""} (${activities})${from}${events} ${when}.`,
        };
      }
      case "app-credential-added": {
        const types = a.values("keyTypes");
        return { severity, explanation: `${by} added ${types.length > 0 ? `a ${listOf(types).toLowerCase()} credential` : "a credential"} to ${a.subject.kind === "app" ? "the application" : "the service principal"} ${who} (${activities})${from}${events} ${when}.` };
      }
      case "auth-method-change":
        return { severity, explanation: `Authentication methods or password of ${who} changed (${activities}) by ${by}${from}${events} ${when}.` };
      case "conditional-access-change":
        return { severity, explanation: `${who} changed conditional access (${activities}: ${listOf(a.values("objects"), 3)})${from}${events} ${when}.` };
      case "domain-federation-change":
        return { severity, explanation: `${who} changed domains or their federation (${activities}: ${listOf(a.values("objects"), 3)})${from}${events} ${when}.` };
      default:
        return { severity, explanation: `${a.rule} for ${who} ${when}.` };
    }
  }

  /** JSON-safe state (plain data) to persist in a checkpoint. */
  snapshot(): unknown {
    const snapshot: AuditSnapshot = {
      kind: "audit-detectors",
      version: 1,
      config: this.config,
      observed: this.observedCount,
      cursor: this.cursor.snapshot(),
      finished: this.finished,
      book: this.book.snapshot(),
    };
    return snapshot;
  }

  /** Detectors that carry on from `snapshot` (zod-validated; throws on a bad snapshot or one taken under other thresholds). */
  static restore(snapshot: unknown, thresholds: DetectionThresholds): AuditDetectors {
    const s = AuditSnapshotSchema.parse(snapshot);
    const detectors = new AuditDetectors(thresholds);
    if (s.config !== detectors.config) throw new Error("the snapshot was taken under other thresholds");
    detectors.observedCount = s.observed;
    detectors.cursor.restore(s.cursor);
    detectors.finished = s.finished;
    detectors.book.restore(s.book);
    return detectors;
  }
}
