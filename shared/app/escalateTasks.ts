import type { EscalationKind, Task } from "../domain/task.js";
import type { Clock, Logger, WorkQueue } from "./ports.js";
import type { ControlStore } from "./reviewPorts.js";
import { requestDeliveries, updateDelivery } from "./taskOutbox.js";
import { deliveryMessage, type DeliveryStore, type TaskStore } from "./taskPorts.js";

/**
 * Escalation rules (run by the sweeper every 5 minutes):
 * - a task that is not done (open or acknowledged) and past its review deadline: an `overdue` e-mail to the tenant's
 *   escalation contact (the task's people in copy), once per deadline;
 * - 72 h and 24 h before the deadline, while any control of the window is unfinished (planned or running): a
 *   `warn-72h` / `warn-24h` e-mail to the tenant's contacts (escalation contact in copy), once per deadline. A task
 *   first seen inside 24 h gets the 24 h warning only. A deadline that moves (a revision changed the window's start)
 *   arms the warnings again for the new deadline.
 * Each escalation is a Deliveries row like any channel, so it is sent once, retried, and poisoned with a reason.
 */
export interface EscalateTasksDeps {
  tasks: TaskStore;
  deliveries: DeliveryStore;
  controlRuns: ControlStore;
  queue: WorkQueue;
  clock: Clock;
  logger: Logger;
  /** A pending delivery untouched this long is sent again (2 × BLINDWINDOW_SWEEP_AFTER_SECONDS). */
  deliveryStuckAfterMs?: number;
}

const HOUR_MS = 3_600_000;
/** A pending delivery untouched this long lost its message (or never got one): it is enqueued again. */
export const DELIVERY_STUCK_AFTER_MS = 10 * 60_000;

async function controlsUnfinished(deps: EscalateTasksDeps, task: Task): Promise<boolean> {
  let any = false;
  for await (const c of deps.controlRuns.listControls(task.tenantId, task.windowId)) {
    any = true;
    if (c.state === "planned" || c.state === "running") return true;
  }
  return !any; // nothing planned yet counts as unfinished
}

/** Which escalation is due for a task now, if any (before the live controls check for warnings). */
export function escalationDue(task: Pick<Task, "dueDate" | "kind">, now: Date): EscalationKind | undefined {
  const left = Date.parse(task.dueDate) - now.getTime();
  if (left <= 0) return "overdue";
  if (task.kind !== "window") return undefined;
  if (left <= 24 * HOUR_MS) return "warn-24h";
  if (left <= 72 * HOUR_MS) return "warn-72h";
  return undefined;
}

export interface EscalateTasksResult {
  overdue: number;
  warnings: number;
  /** Pending deliveries whose message was lost, enqueued again. */
  redelivered: number;
}

export async function escalateTasks(deps: EscalateTasksDeps, now: Date = deps.clock.now()): Promise<EscalateTasksResult> {
  const result: EscalateTasksResult = { overdue: 0, warnings: 0, redelivered: 0 };
  for await (const task of deps.tasks.list({ notDone: true })) {
    if (task.windowGone) continue;
    const kind = escalationDue(task, now);
    if (!kind) continue;
    if (kind !== "overdue" && !(await controlsUnfinished(deps, task))) continue;
    const enqueued = await requestDeliveries(deps, task, [kind], now);
    if (enqueued.length === 0) continue;
    if (kind === "overdue") result.overdue++;
    else result.warnings++;
    deps.logger.warn(kind === "overdue" ? "task overdue: escalated" : "review deadline near with controls unfinished: warned", { tenant: task.tenantId, task: task.id, due: task.dueDate, escalation: kind });
  }

  const before = new Date(now.getTime() - (deps.deliveryStuckAfterMs ?? DELIVERY_STUCK_AFTER_MS));
  for await (const d of deps.deliveries.listPending(before)) {
    if (d.claimedUntil && Date.parse(d.claimedUntil) > now.getTime()) continue;
    if (d.nextAttemptAt && Date.parse(d.nextAttemptAt) > before.getTime()) continue; // its delayed retry is still on the queue
    // Touch the row first: the next sweep waits another interval before sending yet another message for it.
    await updateDelivery(deps.deliveries, d.taskId, d.key, (r) => (r?.state === "pending" ? { ...r, updatedAt: now.toISOString() } : undefined));
    await deps.queue.send("deliveries", deliveryMessage(d.taskId, d.key));
    result.redelivered++;
    deps.logger.warn("re-enqueued a stuck delivery", { task: d.taskId, channel: d.key, since: d.updatedAt });
  }
  return result;
}
