import { z } from "zod";
import { DeliveryKeySchema, type DeliveryKey, type Task, type TaskStatus } from "../domain/task.js";
import { AppError } from "../errors.js";

/** The Tasks table (PK tenant, RK task id). Writes are conditional on the ETag read, so concurrent refreshes never lose an ack. */
export interface TaskStore {
  get(tenantId: string, id: string): Promise<{ task: Task; etag: string } | undefined>;
  /** The task that follows this window now, if any (a partition query on the `windowId` column). */
  findByWindow(tenantId: string, windowId: string): Promise<{ task: Task; etag: string } | undefined>;
  /** Creates the task; false when a task with its id exists (someone else created it first). */
  create(task: Task): Promise<boolean>;
  /** Replaces the task if it is unchanged since `etag`; false when it changed meanwhile (read it again). */
  replace(task: Task, etag: string): Promise<boolean>;
  /** One tenant's tasks, optionally of one source (log source or watchdog component). */
  listTenant(tenantId: string, filter?: { source?: string }): AsyncIterable<{ task: Task; etag: string }>;
  /** Tasks across tenants, by tenant and status. */
  list(filter: { tenantId?: string; status?: TaskStatus; notDone?: boolean }): AsyncIterable<Task>;
}

export const DELIVERY_STATES = ["pending", "sent", "failed", "skipped"] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/**
 * One row of the Deliveries outbox (PK task id, RK channel or escalation kind): what must be delivered (`wantedHash`),
 * what was (`sentHash`, `externalId`), and the attempts in between. `pending` → `sent` with the external id; `failed`
 * (poisoned, with the reason) or `skipped` (the channel is not configured, with the reason).
 */
export interface Delivery {
  taskId: string;
  key: DeliveryKey;
  tenantId: string;
  state: DeliveryState;
  wantedHash: string;
  sentHash?: string;
  /** Planner task id; for Teams and e-mail the marker the message carries. */
  externalId?: string;
  sentAt?: string;
  /** Attempts for the current `wantedHash`. */
  attempts: number;
  lastError?: string;
  lastAttemptAt?: string;
  /** A worker is delivering until then; others wait (two workers would create two Planner tasks). */
  claimedUntil?: string;
  /** When the next attempt is due (back-off). */
  nextAttemptAt?: string;
  /** Set just before `POST /planner/tasks`: a task may exist without its id recorded here, so look it up by marker. */
  plannerCreateStartedAt?: string;
  /** Checklist item ids last written to Planner (removed ones are deleted; people's own items are left alone). */
  plannerChecklistIds?: string[];
  updatedAt: string;
}

export interface DeliveryStore {
  get(taskId: string, key: DeliveryKey): Promise<{ delivery: Delivery; etag: string } | undefined>;
  /** Creates (`etag` undefined: false if it exists) or replaces if unchanged since `etag` (false if it changed). */
  put(delivery: Delivery, etag: string | undefined): Promise<boolean>;
  listForTask(taskId: string): Promise<Delivery[]>;
  /** Pending deliveries last touched before `before` (lost or never-sent messages, for the sweeper). */
  listPending(before: Date): AsyncIterable<Delivery>;
}

/** Message on the `deliveries` queue: deliver the task's current content on one channel. Keys only. */
export const DeliveryMessageSchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal("task-delivery"),
  taskId: z.string().min(1).max(256),
  key: DeliveryKeySchema,
});
export type DeliveryMessage = z.infer<typeof DeliveryMessageSchema>;

export function deliveryMessage(taskId: string, key: DeliveryKey): DeliveryMessage {
  return { v: 1, kind: "task-delivery", taskId, key };
}

/** A channel refused or failed a delivery. `retryable` decides between a later attempt and the poison queue. */
export class ChannelError extends AppError {
  override readonly name = "ChannelError";
  constructor(code: string, message: string, retryable: boolean, readonly retryAfterMs?: number) {
    super(code, 502, message, { retryable });
  }
}

export interface PlannerTaskFields {
  planId: string;
  bucketId: string;
  title: string;
  dueDateTime: string;
  percentComplete: number;
}

export interface PlannerDetails {
  description: string;
  /** Items to write, by id (title and order; `isChecked` is left to people once an item exists). */
  checklist: { id: string; title: string; isNew: boolean }[];
  /** Ids of items written before that are no longer wanted. */
  remove: string[];
}

/** Planner through Graph for one customer tenant (Tasks.ReadWrite.All, app-only). */
export interface PlannerPort {
  /** A task of the plan whose title carries `marker` (a create whose answer was lost), or undefined. */
  findTaskByMarker(tenantId: string, planId: string, marker: string): Promise<string | undefined>;
  /** `POST /planner/tasks`; the new task's id. */
  createTask(tenantId: string, fields: PlannerTaskFields): Promise<string>;
  /** PATCH the task and its details with `If-Match` (re-read and retried on 412); `not-found` when people deleted it. */
  updateTask(tenantId: string, plannerTaskId: string, fields: Omit<PlannerTaskFields, "planId" | "bucketId"> | undefined, details: PlannerDetails): Promise<"updated" | "not-found">;
}

/** `POST /users/{sender}/sendMail` with a MIME message (Mail.Send, app-only, restricted to the sender mailbox). */
export interface MailPort {
  send(tenantId: string, sender: string, mime: string): Promise<void>;
}

/** A Teams Workflows webhook ("When a Teams webhook request is received"). */
export interface TeamsPort {
  post(url: string, card: Record<string, unknown>): Promise<void>;
}

/** The delivery channels; Planner and mail are undefined without Graph credentials. */
export interface TaskChannels {
  planner: PlannerPort | undefined;
  mail: MailPort | undefined;
  teams: TeamsPort;
}
