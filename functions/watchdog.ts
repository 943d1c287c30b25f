import { app, type InvocationContext, type Timer } from "@azure/functions";
import { WATCHDOG_SCHEDULE, watchComponents, type WatchdogResult } from "../shared/app/watchdog.js";
import { getServices, loggerFor, type Services } from "../shared/runtime.js";
import { taskDeps } from "../shared/taskRuntime.js";

/** Timer: records its heartbeat and raises a task when the poller or the sweeper stopped beating (the sweeper watches it back). */
export async function watchdog(_timer: Timer, context: InvocationContext, services: Services = getServices()): Promise<WatchdogResult> {
  return watchComponents(taskDeps(services, loggerFor(services, context)), { beat: true });
}

app.timer("watchdog", {
  schedule: WATCHDOG_SCHEDULE,
  handler: async (timer, context) => {
    await watchdog(timer, context);
  },
});
