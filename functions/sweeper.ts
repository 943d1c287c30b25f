import { app, type InvocationContext, type Timer } from "@azure/functions";
import { SWEEPER_SCHEDULE, sweepNotices } from "../shared/app/sweepNotices.js";
import { sweepControls } from "../shared/app/sweepControls.js";
import { sweepTasks, type SweepTasksResult } from "../shared/app/sweepTasks.js";
import { taskDeps } from "../shared/taskRuntime.js";
import { getServices, loggerFor, type Services } from "../shared/runtime.js";

/** Timer: re-enqueues notices stored but not processed in time, and records its heartbeat. */
export async function sweeper(_timer: Timer, context: InvocationContext, services: Services = getServices()): Promise<{ reenqueued: number; controlsResumed: number; tasks: SweepTasksResult }> {
  const logger = loggerFor(services, context);
  const notices = await sweepNotices({ ...services, logger, stuckAfterMs: services.settings.BLINDWINDOW_SWEEP_AFTER_SECONDS * 1000 });
  const controls = await sweepControls({ ...services, logger });
  // Tasks: catch up with the ledger, escalate, warn before deadlines, re-drive lost deliveries, watch the other timers.
  const tasks = await sweepTasks(taskDeps(services, logger));
  return { ...notices, controlsResumed: controls.resumed, tasks };
}

app.timer("sweeper", {
  schedule: SWEEPER_SCHEDULE,
  handler: async (timer, context) => {
    await sweeper(timer, context);
  },
});
