import type { Logger } from "./app/ports.js";
import type { DeliverTaskDeps } from "./app/deliverTask.js";
import type { SweepTasksDeps } from "./app/sweepTasks.js";
import type { TaskStatusDeps } from "./app/taskStatus.js";
import type { Services } from "./runtime.js";

/** Everything the task use cases need, from the services and the settings (refresh, deliver, escalate, watchdog, status). */
export type TaskDeps = SweepTasksDeps & DeliverTaskDeps & TaskStatusDeps;

export function taskDeps(services: Services, logger: Logger): TaskDeps {
  return {
    ...services,
    logger,
    maxDeliveryAttempts: services.settings.BLINDWINDOW_DELIVERY_MAX_ATTEMPTS,
    claimMs: (services.settings.BLINDWINDOW_SWEEP_AFTER_SECONDS * 2 + Math.min(60, services.settings.BLINDWINDOW_SWEEP_AFTER_SECONDS)) * 1000,
    deliveryStuckAfterMs: services.settings.BLINDWINDOW_SWEEP_AFTER_SECONDS * 2 * 1000,
    operatorTenantId: services.settings.BLINDWINDOW_OPERATOR_TENANT_ID,
  };
}
