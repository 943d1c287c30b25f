import type { LogSourceId } from "./logSource.js";

/**
 * Which compensating controls a blind window of each source gets (DESIGN.md "control"). Graph can replay Entra
 * sign-ins, directory audits and risk detections while they are inside retention; for Sentinel, Defender, Purview and
 * Azure platform logs the control is a hunt checklist with ready-to-run KQL for the window.
 */
export const CONTROLS_BY_SOURCE: Readonly<Record<LogSourceId, readonly ("signin-review" | "audit-review" | "risk-review" | "preserve" | "hunt-checklist")[]>> = {
  "entra-signin": ["signin-review", "preserve"],
  "entra-audit": ["audit-review", "preserve"],
  "entra-risk": ["risk-review"],
  sentinel: ["hunt-checklist"],
  "defender-cloud": ["hunt-checklist"],
  "defender-xdr": ["hunt-checklist"],
  "purview-audit": ["hunt-checklist"],
  "azure-activity": ["hunt-checklist"],
  "azure-monitor": ["hunt-checklist"],
};

/**
 * The review whose pass is preserving a still planned preserve control's records as it reads (one read serves both):
 * a running sign-in or audit review of the same window. Undefined for any other control, or when none runs. Tasks
 * and reports say "preserved by … as it reads" rather than "planned" for it.
 */
export function preservingReview<C extends { windowId?: string; control: string; state: string }>(c: C, controls: readonly C[]): C | undefined {
  if (c.control !== "preserve" || c.state !== "planned") return undefined;
  return controls.find((r) => (r.control === "signin-review" || r.control === "audit-review") && r.state === "running" && r.windowId === c.windowId);
}
