import type { BlindWindow, Contribution } from "../domain/blindWindow.js";
import type { LogSourceId } from "../domain/logSource.js";
import type { WindowStatus } from "../domain/blindWindow.js";

/** Where a notice's part of a tenant's window is kept (WindowContributions) and the merged ledger (Windows). */
export interface LedgerStore {
  putContribution(tenantId: string, source: LogSourceId, contribution: Contribution): Promise<void>;
  deleteContribution(tenantId: string, source: LogSourceId, noticeKey: string): Promise<void>;
  listContributions(tenantId: string, source: LogSourceId): Promise<Contribution[]>;
  /** Makes the tenant's windows for this source exactly `windows` (upserts, and deletes windows no longer there). */
  replaceWindows(tenantId: string, source: LogSourceId, windows: readonly BlindWindow[]): Promise<void>;
  listWindows(filter: { tenantId?: string; status?: WindowStatus }): AsyncIterable<BlindWindow>;
}

export const CONTROL_TYPES = ["signin-review", "audit-review", "risk-review", "preserve", "hunt-checklist"] as const;
export type ControlType = (typeof CONTROL_TYPES)[number];

/** Controls rows (one per window and control type) and the `controls` queue. */
export interface ControlPlanner {
  /** Creates missing control rows for the window (enqueuing each new one) and refreshes the bounds of existing ones. */
  plan(window: BlindWindow, controls: readonly ControlType[], at: Date): Promise<{ created: ControlType[] }>;
}
