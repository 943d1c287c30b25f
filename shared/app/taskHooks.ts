import type { BlindWindow } from "../domain/blindWindow.js";
import type { LogSourceId } from "../domain/logSource.js";
import { StorageUnavailableError } from "../errors.js";
import { refreshSourceTasks, refreshTask, type RefreshTaskDeps } from "./refreshTask.js";

/**
 * Task refreshes as hooks for the use cases that change what a task shows: notice processing (windows rewritten) and
 * the control runner (a control finished). A storage outage propagates (the caller's queue message is retried, and
 * every step is idempotent); any other failure is logged and left to the sweeper's reconciliation, so a task problem
 * never poisons a notice or a control.
 */
export function windowsChangedHook(deps: RefreshTaskDeps): (tenantId: string, source: LogSourceId, windows: readonly BlindWindow[], at: Date) => Promise<void> {
  return async (tenantId, source, windows, at) => {
    try {
      await refreshSourceTasks(deps, tenantId, source, windows, at);
    } catch (error) {
      if (error instanceof StorageUnavailableError) throw error;
      deps.logger.error("task refresh after notice processing failed; the sweeper will catch up", { tenant: tenantId, source, error: error instanceof Error ? error.message : String(error) });
    }
  };
}

/** The control runner's `onFinished`: refreshes the window's task (findings summary, evidence location). */
export function controlFinishedHook(deps: RefreshTaskDeps, now: () => Date): (tenantId: string, windowId: string) => Promise<void> {
  return async (tenantId, windowId) => {
    try {
      await refreshTask(deps, tenantId, windowId, now());
    } catch (error) {
      if (error instanceof StorageUnavailableError) throw error;
      deps.logger.error("task refresh after a control finished failed; the sweeper will catch up", { tenant: tenantId, window: windowId, error: error instanceof Error ? error.message : String(error) });
    }
  };
}
