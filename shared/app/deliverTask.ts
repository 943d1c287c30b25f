import { contentHash } from "../domain/contentHash.js";
import { zodProblems } from "../domain/parseResult.js";
import {
  checklistItemId,
  deliveryHash,
  parseTaskId,
  plannerMarker,
  truncate,
  PLANNER_LIMITS,
  type DeliveryKey,
  type Task,
  type TaskChannel,
  type TaskStatus,
} from "../domain/task.js";
import { renderTaskCard } from "../domain/taskCard.js";
import { buildMime, renderEscalationMail, renderTaskMail, type RenderedMail } from "../domain/taskMail.js";
import type { TenantProfile } from "../domain/tenant.js";
import { AppError, StorageUnavailableError } from "../errors.js";
import type { Clock, HeartbeatStore, Logger, TenantStore, WorkQueue } from "./ports.js";
import { updateDelivery } from "./taskOutbox.js";
import { DeliveryMessageSchema, deliveryMessage, type Delivery, type DeliveryMessage, type DeliveryStore, type TaskChannels, type TaskStore } from "./taskPorts.js";

/**
 * The outbox worker (queue `deliveries`): delivers a task's current content on one channel, or one escalation, and
 * records the outcome in its Deliveries row. Guarantees (README "Tasks"):
 * - Planner: never a second task. The row records that a create is starting before `POST /planner/tasks`, and the
 *   new id right after; a retry that finds the create started but no id looks the task up by the marker in its title
 *   (`[bw:…]`) before creating. Updates PATCH the same task with If-Match.
 * - Teams and e-mail: a crash after the message was accepted and before the row says so sends it once more on
 *   retry: at most one extra message per crash. Nothing is sent twice otherwise: a row already at the wanted hash is
 *   left alone, and a claim (`claimedUntil`) keeps two workers off one row.
 * - Failures: throttling and outages are retried with exponential back-off (a delayed queue message; 30 s, 2 min,
 *   8 min, 32 min, 2 h, jittered) up to `maxAttempts`; then, or at once for a refusal no retry can fix (403, a
 *   deleted plan, an invalid card), the row is marked `failed` with the reason and the message goes to
 *   `deliveries-poison` with it. Never silently: a channel that is not configured is marked `skipped` with why.
 */
export interface DeliverTaskDeps {
  tasks: TaskStore;
  deliveries: DeliveryStore;
  tenants: Pick<TenantStore, "get">;
  taskChannels: TaskChannels;
  queue: WorkQueue;
  heartbeats: HeartbeatStore;
  clock: Clock;
  logger: Logger;
  /** Attempts before a delivery is poisoned (BLINDWINDOW_DELIVERY_MAX_ATTEMPTS). */
  maxDeliveryAttempts: number;
  /** How long a worker's claim on a delivery lasts (CLAIM_MS by default; from BLINDWINDOW_SWEEP_AFTER_SECONDS). */
  claimMs?: number;
}

export type DeliverTaskOutcome =
  | { outcome: "sent"; key: DeliveryKey; externalId?: string }
  | { outcome: "up-to-date"; key: DeliveryKey }
  | { outcome: "skipped"; key: DeliveryKey; reason: string }
  | { outcome: "busy"; key: DeliveryKey; delaySeconds: number }
  | { outcome: "retry"; key: DeliveryKey; attempt: number; delaySeconds: number; reason: string }
  | { outcome: "poisoned"; reason: string; key?: DeliveryKey };

export const DELIVER_COMPONENT = "taskDeliver";
/** A worker's claim on a row outlives one invocation (the function timeout is 10 minutes). */
export const CLAIM_MS = 11 * 60_000;
const BACKOFF_BASE_SECONDS = 30;
const BUSY_RETRY_SECONDS = 60;
const HOUR_MS = 3_600_000;
const BACKOFF_MAX_SECONDS = 2 * 3600;

/** Back-off before attempt `attempt + 1`: 30 s × 4^(attempt−1), at most 2 h, ±20 % jitter derived from the row (no RNG). */
export function retryDelaySeconds(attempt: number, seed: string): number {
  const base = Math.min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 4 ** Math.max(0, attempt - 1));
  const jitter = parseInt(contentHash([seed, attempt], 4), 16) / 0xffff; // [0, 1]
  return Math.round(base * (0.8 + 0.4 * jitter));
}

function percentComplete(status: TaskStatus): number {
  return status === "done" ? 100 : status === "acknowledged" ? 50 : 0;
}

/** The task's notes in Planner: summary, sections, and the KQL of every hunt query. */
export function plannerDescription(task: Pick<Task, "id" | "content">): string {
  const c = task.content;
  const hunts = c.huntQueries.map((q) => `${q.product}: ${q.title}\n${q.why}\n\n${q.kql}`);
  return [c.summary, ...c.sections.map((s) => `${s.heading}\n${s.lines.map((l) => `- ${l}`).join("\n")}`), ...(hunts.length > 0 ? ["Hunt queries (KQL)", ...hunts] : []), `blindwindow task ${task.id}`].join("\n\n");
}

function plannerTitle(task: Task): string {
  const marker = plannerMarker(task.id);
  return `${truncate(task.content.title, PLANNER_LIMITS.taskTitleChars - marker.length - 1)} ${marker}`;
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s+/gu, " ").slice(0, 500);
}

async function poison(deps: Pick<DeliverTaskDeps, "queue" | "logger">, input: unknown, reason: string, key?: DeliveryKey, attempts?: number): Promise<DeliverTaskOutcome> {
  const head = JSON.stringify(input).slice(0, 2048);
  await deps.queue.send("deliveries-poison", { reason, ...(attempts === undefined ? {} : { attempts }), message: head.length < 2048 ? input : { truncated: true, head } });
  deps.logger.warn(`delivery moved to deliveries-poison: ${reason}`, { delivery: key ?? "unknown" });
  return { outcome: "poisoned", reason, ...(key ? { key } : {}) };
}

interface Recipients {
  sender: string;
  to: string[];
  cc: string[];
}

function mailRecipients(profile: TenantProfile, key: DeliveryKey): Recipients | string {
  const c = profile.contacts;
  if (!c.mailSender) return "the tenant has no mailSender: e-mail needs a sender mailbox";
  if (key === "overdue") return { sender: c.mailSender, to: [c.escalation ?? c.emails[0] ?? ""], cc: c.escalation ? [...c.emails] : c.emails.slice(1) };
  return { sender: c.mailSender, to: [...c.emails], cc: key !== "email" && c.escalation ? [c.escalation] : [] };
}

/** Why a channel cannot be delivered for this tenant, or undefined when it can. */
function unavailable(deps: DeliverTaskDeps, profile: TenantProfile | undefined, key: DeliveryKey): string | undefined {
  if (!profile) return "the tenant is not registered";
  const c = profile.contacts;
  if (key === "planner") return !c.planner ? "the tenant has no Planner plan" : !deps.taskChannels.planner ? "Graph is not configured" : undefined;
  if (key === "teams") return c.teamsWorkflowUrl ? undefined : "the tenant has no Teams workflow URL";
  if (!deps.taskChannels.mail) return "Graph is not configured";
  const recipients = mailRecipients(profile, key);
  return typeof recipients === "string" ? recipients : undefined;
}

/** Handles one `deliveries` message. Storage failures throw (the queue retries the message); channel failures do not. */
export async function deliverTask(deps: DeliverTaskDeps, input: unknown): Promise<DeliverTaskOutcome> {
  const parsed = DeliveryMessageSchema.safeParse(input);
  if (!parsed.success) return poison(deps, input, `invalid delivery message: ${zodProblems(parsed.error).join("; ")}`);
  const message = parsed.data;
  const { key } = message;
  const ids = parseTaskId(message.taskId);
  const found = ids ? await deps.tasks.get(ids.tenantId, message.taskId) : undefined;
  if (!found) return poison(deps, input, `task ${message.taskId} is not stored`, key);
  const task = found.task;
  const now = deps.clock.now();
  await deps.heartbeats.beat({ component: DELIVER_COMPONENT, at: now.toISOString(), expectedEverySeconds: 0 });

  const wanted = deliveryHash(task, key);
  const row = (await deps.deliveries.get(task.id, key))?.delivery;
  if (row?.state === "sent" && row.sentHash === wanted) return { outcome: "up-to-date", key };
  if (row?.claimedUntil && Date.parse(row.claimedUntil) > now.getTime()) {
    const delaySeconds = Math.min(900, Math.ceil((Date.parse(row.claimedUntil) - now.getTime()) / 1000) + 1);
    await deps.queue.send("deliveries", message, { delaySeconds });
    return { outcome: "busy", key, delaySeconds };
  }

  const profile = await deps.tenants.get(task.tenantId);
  const escalation = key !== "planner" && key !== "teams" && key !== "email";
  if (escalation) {
    // Decided by the sweeper a while ago: still true? (Done meanwhile, window withdrawn, or the deadline moved.)
    const left = Date.parse(task.dueDate) - now.getTime();
    const limit = key === "overdue" ? 0 : key === "warn-24h" ? 24 * HOUR_MS : 72 * HOUR_MS;
    const moot = task.status === "done" ? "the task was done before the escalation went out" : task.windowGone ? "the window left the ledger" : left > limit ? "not due any more: the deadline moved" : undefined;
    // Recorded without the hash, so the sweeper can arm the same escalation again when it does fall due.
    if (moot !== undefined) return skip(deps, task, key, "", moot, now);
  }
  const why = unavailable(deps, profile, key);
  if (why !== undefined || !profile) return skip(deps, task, key, wanted, why ?? "the tenant is not registered", now);

  // Claim the row: one worker per delivery (two would create two Planner tasks).
  const won = { claimed: false };
  const claim = await updateDelivery(deps.deliveries, task.id, key, (r) => {
    won.claimed = false;
    if (r?.state === "sent" && r.sentHash === wanted) return undefined;
    if (r?.claimedUntil && Date.parse(r.claimedUntil) > now.getTime()) return undefined;
    won.claimed = true;
    const sameHash = r?.wantedHash === wanted;
    return {
      ...(r ?? { taskId: task.id, key, tenantId: task.tenantId }),
      state: "pending",
      wantedHash: wanted,
      attempts: (sameHash && r.state !== "failed" && r.state !== "skipped" ? r.attempts : 0) + 1,
      lastAttemptAt: now.toISOString(),
      claimedUntil: new Date(now.getTime() + (deps.claimMs ?? CLAIM_MS)).toISOString(),
      updatedAt: now.toISOString(),
    } satisfies Delivery;
  });
  if (!won.claimed || !claim) {
    // Another worker claimed it between our read and our write: look again later (its outcome decides then).
    if ((await deps.deliveries.get(task.id, key))?.delivery.sentHash === wanted) return { outcome: "up-to-date", key };
    await deps.queue.send("deliveries", message, { delaySeconds: BUSY_RETRY_SECONDS });
    return { outcome: "busy", key, delaySeconds: BUSY_RETRY_SECONDS };
  }

  let externalId: string | undefined;
  try {
    externalId = await send(deps, task, key, profile, claim, wanted);
  } catch (error) {
    if (error instanceof StorageUnavailableError) throw error; // not the channel's fault: the message is retried as is
    if (error instanceof DeletedInChannel) return skip(deps, task, key, wanted, error.message, now);
    return failed(deps, task, message, claim, wanted, error, now);
  }
  await updateDelivery(deps.deliveries, task.id, key, (r) => {
    const base: Delivery = r ?? claim;
    const next: Delivery = {
      ...base,
      sentHash: wanted,
      sentAt: now.toISOString(),
      // A newer version may have been requested while this one was being sent: it stays pending (its message is queued).
      state: base.wantedHash === wanted ? "sent" : "pending",
      updatedAt: deps.clock.now().toISOString(),
      ...(externalId === undefined ? {} : { externalId }),
    };
    delete next.claimedUntil;
    delete next.lastError;
    delete next.nextAttemptAt;
    return next;
  });
  deps.logger.info("task delivered", { tenant: task.tenantId, task: task.id, channel: key, attempts: claim.attempts });
  return { outcome: "sent", key, ...(externalId === undefined ? {} : { externalId }) };
}

/** The Planner task was deleted by people: it is not recreated behind their back. */
class DeletedInChannel extends Error {}

/** Performs the side effect; returns the external id to record. */
async function send(deps: DeliverTaskDeps, task: Task, key: DeliveryKey, profile: TenantProfile, row: Delivery, wanted: string): Promise<string | undefined> {
  const contacts = profile.contacts;
  switch (key) {
    case "planner": {
      const planner = deps.taskChannels.planner;
      const plan = contacts.planner;
      if (!planner || !plan) throw new Error("Planner is not available");
      const fields = { title: plannerTitle(task), dueDateTime: task.dueDate, percentComplete: percentComplete(task.status) };
      let id = row.externalId;
      let created = false;
      if (id === undefined && row.plannerCreateStartedAt !== undefined) {
        // A create began before and its outcome was not recorded: find the task it may have made.
        id = await planner.findTaskByMarker(task.tenantId, plan.planId, plannerMarker(task.id));
        if (id !== undefined) deps.logger.warn("Planner task found by marker after an interrupted create", { tenant: task.tenantId, task: task.id });
      }
      if (id === undefined) {
        await updateDelivery(deps.deliveries, task.id, key, (r) => ({ ...(r ?? row), plannerCreateStartedAt: deps.clock.now().toISOString() }));
        id = await planner.createTask(task.tenantId, { planId: plan.planId, bucketId: plan.bucketId, ...fields });
        created = true;
      }
      const plannerId = id;
      await updateDelivery(deps.deliveries, task.id, key, (r) => ({ ...(r ?? row), externalId: plannerId }));
      const previous = new Set(row.plannerChecklistIds ?? []);
      const items = task.content.checklist.map((i) => ({ id: checklistItemId(task.id, i.key), title: i.title, isNew: !previous.has(checklistItemId(task.id, i.key)) }));
      const wantedIds = new Set(items.map((i) => i.id));
      const outcome = await planner.updateTask(task.tenantId, plannerId, created ? undefined : fields, {
        description: plannerDescription(task),
        checklist: items,
        remove: [...previous].filter((i) => !wantedIds.has(i)),
      });
      if (outcome === "not-found") throw new DeletedInChannel("the Planner task was deleted in Planner; it is not recreated");
      await updateDelivery(deps.deliveries, task.id, key, (r) => ({ ...(r ?? row), plannerChecklistIds: [...wantedIds] }));
      return plannerId;
    }
    case "teams": {
      const url = contacts.teamsWorkflowUrl;
      if (!url) throw new Error("no Teams workflow URL");
      await deps.taskChannels.teams.post(url, renderTaskCard({ id: task.id, status: task.status, content: task.content }));
      return `teams:${wanted}`;
    }
    default: {
      const mail = deps.taskChannels.mail;
      const recipients = mailRecipients(profile, key);
      if (!mail || typeof recipients === "string") throw new Error("e-mail is not available");
      const rendered: RenderedMail = key === "email" ? renderTaskMail(task) : renderEscalationMail(key, task);
      const marker = `${task.id}/${key}/${wanted}`;
      const mime = buildMime({ from: recipients.sender, to: recipients.to, cc: recipients.cc, ...rendered, headers: { "X-Blindwindow-Task": task.id, "X-Blindwindow-Delivery": marker } });
      await mail.send(task.tenantId, recipients.sender, mime);
      return `mail:${marker}`;
    }
  }
}

async function skip(deps: DeliverTaskDeps, task: Task, key: DeliveryKey, wanted: string, reason: string, now: Date): Promise<DeliverTaskOutcome> {
  await updateDelivery(deps.deliveries, task.id, key, (r) => {
    const next: Delivery = { ...(r ?? { taskId: task.id, key, tenantId: task.tenantId, attempts: 0 }), state: "skipped", wantedHash: wanted, lastError: reason, updatedAt: now.toISOString() };
    delete next.claimedUntil;
    return next;
  });
  deps.logger.warn("task delivery skipped", { tenant: task.tenantId, task: task.id, channel: key, reason });
  return { outcome: "skipped", key, reason };
}

async function failed(deps: DeliverTaskDeps, task: Task, message: DeliveryMessage, claim: Delivery, wanted: string, error: unknown, now: Date): Promise<DeliverTaskOutcome> {
  const key = message.key;
  const retryable = error instanceof AppError ? error.retryable : true;
  const reason = `${error instanceof AppError ? `${error.code}: ` : ""}${oneLine(error)}`;
  const attempts = claim.attempts;
  const final = !retryable || attempts >= deps.maxDeliveryAttempts;
  const delaySeconds = retryDelaySeconds(attempts, `${task.id}/${key}`);
  await updateDelivery(deps.deliveries, task.id, key, (r) => {
    const base = r ?? claim;
    const next: Delivery = {
      ...base,
      // A newer version requested meanwhile stays pending: its own message will try it.
      state: final && base.wantedHash === wanted ? "failed" : "pending",
      lastError: final ? `${reason} (after ${String(attempts)} attempt${attempts === 1 ? "" : "s"}${retryable ? "" : "; not retryable"})` : reason,
      updatedAt: now.toISOString(),
      ...(final ? {} : { nextAttemptAt: new Date(now.getTime() + delaySeconds * 1000).toISOString() }),
    };
    delete next.claimedUntil;
    if (final) delete next.nextAttemptAt;
    return next;
  });
  if (final) return poison(deps, deliveryMessage(task.id, key), `${task.id}/${key}: ${reason}`, key, attempts);
  await deps.queue.send("deliveries", message, { delaySeconds });
  deps.logger.warn("task delivery failed; retrying later", { tenant: task.tenantId, task: task.id, channel: key, attempt: attempts, delaySeconds, reason });
  return { outcome: "retry", key, attempt: attempts, delaySeconds, reason };
}

export type { TaskChannel };
