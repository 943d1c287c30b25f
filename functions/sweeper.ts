import { app, type InvocationContext, type Timer } from "@azure/functions";
import { invocationLogger } from "../shared/adapters/logger.js";
import { SWEEPER_SCHEDULE, sweepNotices } from "../shared/app/sweepNotices.js";
import { getServices, type Services } from "../shared/runtime.js";

/** Timer: re-enqueues notices stored but not processed in time, and records its heartbeat. */
export async function sweeper(_timer: Timer, context: InvocationContext, services: Services = getServices()): Promise<{ reenqueued: number }> {
  const logger = services.logger ?? invocationLogger(context, services.settings.BLINDWINDOW_LOG_LEVEL);
  return sweepNotices({ ...services, logger });
}

app.timer("sweeper", {
  schedule: SWEEPER_SCHEDULE,
  handler: async (timer, context) => {
    await sweeper(timer, context);
  },
});
