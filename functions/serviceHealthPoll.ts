import { app, type InvocationContext, type Timer } from "@azure/functions";
import { SERVICE_HEALTH_POLL_SCHEDULE, pollServiceHealth, type PollServiceHealthResult } from "../shared/app/pollServiceHealth.js";
import { getServices, loggerFor, type Services } from "../shared/runtime.js";

/** Timer: polls Microsoft 365 service health (Graph) for every registered tenant and records issues as `m365` notices. */
export async function serviceHealthPoll(_timer: Timer, context: InvocationContext, services: Services = getServices()): Promise<PollServiceHealthResult> {
  const logger = loggerFor(services, context);
  return pollServiceHealth(
    { ...services, logger },
    services.graphNotConfigured === undefined ? {} : { notConfiguredReason: services.graphNotConfigured },
  );
}

app.timer("serviceHealthPoll", {
  schedule: SERVICE_HEALTH_POLL_SCHEDULE,
  handler: async (timer, context) => {
    await serviceHealthPoll(timer, context);
  },
});
