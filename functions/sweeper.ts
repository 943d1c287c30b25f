import { app, type InvocationContext, type Timer } from "@azure/functions";
import { SWEEPER_SCHEDULE, sweepNotices } from "../shared/app/sweepNotices.js";
import { getServices, loggerFor, type Services } from "../shared/runtime.js";

/** Timer: re-enqueues notices stored but not processed in time, and records its heartbeat. */
export async function sweeper(_timer: Timer, context: InvocationContext, services: Services = getServices()): Promise<{ reenqueued: number }> {
  const logger = loggerFor(services, context);
  return sweepNotices({ ...services, logger });
}

app.timer("sweeper", {
  schedule: SWEEPER_SCHEDULE,
  handler: async (timer, context) => {
    await sweeper(timer, context);
  },
});
