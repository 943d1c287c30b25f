/**
 * The compact directory audit the detectors read, normalised at the boundary from a Graph `directoryAudit`
 * (shape: test/fixtures/microsoft-docs/graph-directoryaudit-list-v1-example2-response.json). Audits are a few per
 * user and day, so the record keeps the targets and their modified properties, which the rules read.
 */

import { parseGraphTime } from "./graphTime.js";

export interface AuditActor {
  /** Object id of the user, or empty when an app acted. */
  userId: string;
  userPrincipalName: string | null;
  ipAddress: string | null;
  appId: string | null;
  appDisplayName: string | null;
  servicePrincipalId: string | null;
}

export interface AuditModifiedProperty {
  displayName: string;
  oldValue: string | null;
  newValue: string | null;
}

export interface AuditTarget {
  id: string;
  displayName: string | null;
  /** "User", "ServicePrincipal", "Application", "Role", "Group", "Policy", … */
  type: string;
  userPrincipalName: string | null;
  modifiedProperties: readonly AuditModifiedProperty[];
}

export interface AuditRecord {
  id: string;
  activityDateTime: string;
  /** `activityDateTime` in epoch milliseconds. */
  t: number;
  category: string;
  /** As Graph sent it ("Update application – Certificates and secrets management ", trailing space included). */
  activityDisplayName: string;
  /** "success", "failure", "timeout", … */
  result: string;
  loggedByService: string;
  operationType: string;
  initiatedBy: AuditActor;
  targets: readonly AuditTarget[];
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function nullableStr(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

function obj(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function actorOf(value: unknown): AuditActor {
  const by = obj(value);
  const user = obj(by?.user);
  const app = obj(by?.app);
  return {
    userId: str(user?.id),
    userPrincipalName: nullableStr(user?.userPrincipalName),
    ipAddress: nullableStr(user?.ipAddress),
    appId: nullableStr(app?.appId),
    appDisplayName: nullableStr(app?.displayName),
    servicePrincipalId: nullableStr(app?.servicePrincipalId),
  };
}

function targetsOf(value: unknown): AuditTarget[] {
  if (!Array.isArray(value)) return [];
  const out: AuditTarget[] = [];
  for (const item of value) {
    const t = obj(item);
    if (!t) continue;
    const modified: AuditModifiedProperty[] = [];
    if (Array.isArray(t.modifiedProperties)) {
      for (const p of t.modifiedProperties) {
        const m = obj(p);
        if (m) modified.push({ displayName: str(m.displayName), oldValue: nullableStr(m.oldValue), newValue: nullableStr(m.newValue) });
      }
    }
    out.push({ id: str(t.id), displayName: nullableStr(t.displayName), type: str(t.type), userPrincipalName: nullableStr(t.userPrincipalName), modifiedProperties: modified });
  }
  return out;
}

/**
 * The compact record of a Graph directory audit, or undefined when it lacks `id`, a parseable `activityDateTime`
 * or `activityDisplayName` (the caller counts those as unreadable).
 */
export function toAuditRecord(raw: unknown): AuditRecord | undefined {
  const r = obj(raw);
  if (!r) return undefined;
  const id = r.id;
  const at = r.activityDateTime;
  const activity = r.activityDisplayName;
  if (typeof id !== "string" || id === "" || typeof at !== "string" || typeof activity !== "string") return undefined;
  const t = parseGraphTime(at);
  if (Number.isNaN(t)) return undefined;
  return {
    id,
    activityDateTime: at,
    t,
    category: str(r.category),
    activityDisplayName: activity,
    result: str(r.result),
    loggedByService: str(r.loggedByService),
    operationType: str(r.operationType),
    initiatedBy: actorOf(r.initiatedBy),
    targets: targetsOf(r.targetResources),
  };
}
