import type { Timer } from "@azure/functions";
import type { TenantProfile } from "../../shared/domain/tenant.js";

/** What the Functions host passes a timer function on a scheduled run. */
export const scheduledTimer: Timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: "", next: "", lastUpdated: "" } };

/** A minimal valid P2 tenant relying on Entra sign-in and audit logs and Sentinel. */
export function tenantProfile(tenantId: string, name: string): TenantProfile {
  return {
    tenantId,
    name,
    subscriptions: [],
    regions: [],
    logSources: ["entra-signin", "entra-audit", "sentinel"],
    licence: "p2",
    onboardedAt: "2024-01-01T00:00:00.000Z",
    contacts: { emails: ["soc@example.com"] },
  };
}
