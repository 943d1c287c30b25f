import { deliveryHash, type DeliveryKey, type Task, type TaskChannel } from "../domain/task.js";
import type { TenantProfile } from "../domain/tenant.js";
import type { Logger, WorkQueue } from "./ports.js";
import { deliveryMessage, type Delivery, type DeliveryStore } from "./taskPorts.js";

/**
 * The outbox side shared by every use case that changes a task: which channels a tenant has, and arming a
 * Deliveries row (pending, with the hash to deliver) before its queue message is sent. A crash between the two leaves
 * a pending row, which the sweeper re-enqueues (escalateTasks); a message for a row that is already up to date does
 * nothing. So every change reaches every channel at least once, and a channel never gets the same content twice
 * except after a crash between sending it and recording it (Teams and e-mail: one extra message, see deliverTask).
 */

/** The channels a tenant's contacts configure. E-mail needs a sender mailbox (Graph sendMail sends as a user). */
export function tenantChannels(profile: Pick<TenantProfile, "contacts"> | undefined): TaskChannel[] {
  if (!profile) return [];
  const out: TaskChannel[] = [];
  if (profile.contacts.planner) out.push("planner");
  if (profile.contacts.teamsWorkflowUrl) out.push("teams");
  if (profile.contacts.mailSender) out.push("email");
  return out;
}

const MAX_WRITE_PASSES = 8;

/**
 * Read-modify-write of one Deliveries row with its ETag, repeated when someone else wrote it meanwhile. `mutate`
 * gets the current row (or undefined) and returns the row to write, or undefined to leave it.
 */
export async function updateDelivery(
  deliveries: DeliveryStore,
  taskId: string,
  key: DeliveryKey,
  mutate: (current: Delivery | undefined) => Delivery | undefined,
): Promise<Delivery | undefined> {
  for (let pass = 0; pass < MAX_WRITE_PASSES; pass++) {
    const current = await deliveries.get(taskId, key);
    const next = mutate(current ? structuredClone(current.delivery) : undefined);
    if (!next) return current?.delivery;
    if (await deliveries.put(next, current?.etag)) return next;
  }
  throw new Error(`delivery ${taskId}/${key} kept changing; the queue will retry`);
}

/**
 * Arms the outbox for `keys`: each row whose wanted hash differs from the task's becomes pending with the new hash
 * (attempts reset) and gets a queue message. Rows already wanting this hash (pending, sent, failed or skipped) are
 * left alone. Returns the keys enqueued.
 */
export async function requestDeliveries(
  deps: { deliveries: DeliveryStore; queue: WorkQueue; logger?: Logger },
  task: Task,
  keys: readonly DeliveryKey[],
  at: Date,
): Promise<DeliveryKey[]> {
  const enqueued: DeliveryKey[] = [];
  for (const key of keys) {
    const wanted = deliveryHash(task, key);
    const flag = { armed: false };
    await updateDelivery(deps.deliveries, task.id, key, (row) => {
      flag.armed = false;
      if (row?.wantedHash === wanted) return undefined;
      flag.armed = true;
      const next: Delivery = {
        ...(row ?? { taskId: task.id, key, tenantId: task.tenantId }),
        state: "pending",
        wantedHash: wanted,
        attempts: 0,
        updatedAt: at.toISOString(),
      };
      delete next.nextAttemptAt;
      return next;
    });
    if (!flag.armed) continue;
    await deps.queue.send("deliveries", deliveryMessage(task.id, key));
    enqueued.push(key);
  }
  if (enqueued.length > 0) deps.logger?.info("task deliveries requested", { tenant: task.tenantId, task: task.id, channels: enqueued.join(",") });
  return enqueued;
}
