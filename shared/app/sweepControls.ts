import type { Clock, Logger, WorkQueue } from "./ports.js";
import type { ControlRunStore } from "./reviewPorts.js";

export interface SweepControlsDeps {
  controlRuns: Pick<ControlRunStore, "listUnfinished">;
  queue: WorkQueue;
  clock: Clock;
  logger: Logger;
}

/**
 * Sends a control-runner turn for every control whose worker died (running, lease expired): the queue redelivers a
 * killed turn's message, but that retry can arrive while the lease still holds and go idle. When nothing runs at
 * all while controls are planned (their turns lost), one turn restarts the runner — each turn that finishes or
 * continues passes the work on.
 */
export async function sweepControls(deps: SweepControlsDeps): Promise<{ resumed: number }> {
  const nowIso = deps.clock.now().toISOString();
  let resumed = 0;
  let running = 0;
  let planned: { tenantId: string; windowId: string; control: string } | undefined;
  for await (const row of deps.controlRuns.listUnfinished()) {
    if (row.state === "running" && row.leaseUntil !== undefined && row.leaseUntil !== "" && row.leaseUntil < nowIso) {
      await deps.queue.send("controls", { v: 1, kind: "control", tenantId: row.tenantId, windowId: row.windowId, control: row.control });
      resumed += 1;
      deps.logger.warn("control's lease expired (its worker died, or it waited for Graph to settle a window's last records): sent a turn to resume it", { tenant: row.tenantId, window: row.windowId, control: row.control, leaseUntil: row.leaseUntil });
    } else if (row.state === "running") {
      running += 1;
    } else {
      planned ??= { tenantId: row.tenantId, windowId: row.windowId, control: row.control };
    }
  }
  if (resumed === 0 && running === 0 && planned) {
    await deps.queue.send("controls", { v: 1, kind: "control", ...planned });
    resumed += 1;
  }
  return { resumed };
}
